# SPDX-License-Identifier: Apache-2.0
"""The token endpoint after the code: id_tokens, refresh rotation and Backend Services."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from smart_launch.keys import CLIENT_ASSERTION_TYPE
from smart_launch.keys import ClientKeys
from smart_launch.keys import client_assertion
from smart_launch.sandbox import ClientRegistration
from smart_launch.sandbox import ConfigError
from smart_launch.sandbox import SandboxConfig
from smart_launch.sandbox import start

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.unit.smart_launch.sandbox.conftest import Flow


def _id_token_claims(flow: Flow, id_token: str) -> dict[str, Any]:
    jwks = requests.get(flow.ehr.url + "/.well-known/jwks.json", timeout=5).json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": flow.ehr.url},
        aud={"essential": True, "value": "quietline"},
        exp={"essential": True},
    )
    registry.validate(token.claims)
    return dict(token.claims)


def test_id_token_verifies_with_the_jwks_and_carries_fhir_user(flow: Flow) -> None:
    body = flow.token(nonce="nonce-123")
    claims = _id_token_claims(flow, body["id_token"])
    assert claims["sub"] == "therapist"
    assert claims["fhirUser"] == flow.ehr.fhir_base + "/Practitioner/therapist"
    assert claims["nonce"] == "nonce-123"
    assert claims["exp"] > time.time()


def test_no_id_token_without_openid(flow: Flow) -> None:
    body = flow.token(scope="launch patient/Patient.rs")
    assert "id_token" not in body


@pytest.mark.parametrize("fault", ["signature", "aud", "iss", "exp"])
def test_id_token_faults_break_validation(flow: Flow, fault: str) -> None:
    flow.ehr.faults.id_token_fault = fault
    body = flow.token()
    with pytest.raises(JoseError):
        _id_token_claims(flow, body["id_token"])


def test_unknown_id_token_fault_is_refused(flow: Flow) -> None:
    with pytest.raises(ConfigError):
        flow.ehr.faults.id_token_fault = "signatur"
    assert flow.ehr.faults.id_token_fault is None


def _refresh(flow: Flow, refresh_token: str, **extra: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return flow.token_request(data, client_id="quietline")


def test_refresh_rotates_and_keeps_the_context(flow: Flow) -> None:
    first = flow.token()
    second = _refresh(flow, first["refresh_token"])
    assert second.status_code == 200
    assert second.headers["Cache-Control"] == "no-store"
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["patient"] == "pat-1"
    assert body["encounter"] == "enc-1"
    assert body["scope"] == first["scope"]
    third = _refresh(flow, body["refresh_token"])
    assert third.status_code == 200


def test_refresh_with_a_narrower_scope(flow: Flow) -> None:
    first = flow.token()
    body = _refresh(flow, first["refresh_token"], scope="online_access patient/Patient.rs").json()
    assert body["scope"] == "online_access patient/Patient.rs"
    assert flow.fhir("GET", "/Appointment/appt-1-next", body["access_token"]).status_code == 403
    wider = _refresh(flow, body["refresh_token"], scope="online_access user/*.cruds")
    assert wider.json()["error"] == "invalid_scope"


def test_refresh_token_reuse_revokes_the_family(flow: Flow) -> None:
    first = flow.token()
    second = _refresh(flow, first["refresh_token"]).json()
    reuse = _refresh(flow, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert flow.fhir("GET", "/Patient/pat-1", second["access_token"]).status_code == 401
    assert _refresh(flow, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_belongs_to_its_client(flow: Flow) -> None:
    first = flow.token()
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    response = flow.token_request(data, client_id="narrow")
    assert response.json()["error"] in {"invalid_grant", "unauthorized_client"}


def _backend(flow: Flow, scope: str, client_id: str = "quietline-jwt") -> requests.Response:
    data = {"grant_type": "client_credentials", "scope": scope}
    return flow.token_request(data, client_id=client_id)


def test_client_credentials_with_system_scope(flow: Flow) -> None:
    response = _backend(flow, "system/Task.cruds system/Patient.rs")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] <= 300
    assert body["scope"] == "system/Task.cruds system/Patient.rs"
    assert "refresh_token" not in body
    assert "patient" not in body
    assert flow.fhir("GET", "/Patient/pat-5", body["access_token"]).status_code == 200


def test_client_credentials_refuses_non_system_scopes(flow: Flow) -> None:
    response = _backend(flow, "patient/*.rs")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_client_credentials_refuses_client_secret_basic(flow: Flow) -> None:
    response = _backend(flow, "system/Patient.rs", client_id="quietline")
    assert response.json()["error"] in {"invalid_client", "unauthorized_client"}


def test_unsupported_grant_type(flow: Flow) -> None:
    response = flow.token_request({"grant_type": "password"}, client_id="quietline")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


class _JwksHandler(BaseHTTPRequestHandler):
    body = b"{}"
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def jwks_server(client_keys: ClientKeys) -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    body = json.dumps(client_keys.public_jwks()).encode()
    handler = type("Handler", (_JwksHandler,), {"body": body, "hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", hits
    server.shutdown()
    server.server_close()


def test_jwks_uri_is_fetched_once_and_cached(
    tmp_path: Path, client_keys: ClientKeys, jwks_server: tuple[str, list[str]]
) -> None:
    uri, hits = jwks_server
    registration = ClientRegistration(
        client_id="backend",
        auth_method="private_key_jwt",
        jwks_uri=uri,
        scope="system/*.rs",
        grant_types=("client_credentials",),
    )
    config = SandboxConfig(db_path=tmp_path / "ehr.sqlite3", clients=[registration])
    with start(config) as ehr:
        for _ in range(2):
            assertion = client_assertion(
                client_keys, client_id="backend", token_endpoint=ehr.token_endpoint
            )
            response = requests.post(
                ehr.token_endpoint,
                data={
                    "grant_type": "client_credentials",
                    "scope": "system/Patient.rs",
                    "client_assertion_type": CLIENT_ASSERTION_TYPE,
                    "client_assertion": assertion,
                },
                timeout=5,
            )
            assert response.status_code == 200, response.text
    assert hits == ["/jwks.json"]
