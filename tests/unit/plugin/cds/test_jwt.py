# SPDX-License-Identifier: Apache-2.0
"""The EHR's JWT: every refusal of CDS Hooks 2.0 "Trusting CDS Clients", over the endpoint."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jws
from joserfc.jwk import ECKey
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from plugin.app import create_app
from plugin.config import Settings
from plugin.registry import get_service
from plugin.store import Database
from tests.unit.plugin.cds.support import FEEDBACK_PATH
from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import Ehr
from tests.unit.plugin.cds.support import RecordingServer
from tests.unit.plugin.cds.support import audit_entries
from tests.unit.plugin.cds.support import hook_body
from tests.unit.plugin.cds.support import register_tenant
from tests.unit.plugin.support import EHR_ISS


def _call(client: FlaskClient, headers: dict[str, str]) -> Any:
    return client.post(SERVICE_PATH, json=hook_body(), headers=headers)


def _refused(response: Any, words: str) -> None:
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"] == "invalid_token"
    assert words in response.json["message"]


def test_a_valid_token_is_accepted(cds: FlaskClient, ehr: Ehr) -> None:
    response = _call(cds, ehr.auth())

    assert response.status_code == 200
    assert response.json == {"cards": []}


@pytest.mark.parametrize("alg", ["ES256", "RS384", "RS256", "PS384"])
def test_each_allowed_algorithm_is_accepted(
    cds_app: Flask, ehr: Ehr, jwks_server: RecordingServer, alg: str
) -> None:
    if alg.startswith("ES"):
        ehr.key = ECKey.generate_key("P-256", parameters={"kid": "ehr-2"}, private=True)
    else:
        ehr.key = RSAKey.generate_key(2048, parameters={"kid": "ehr-2"}, private=True)
    jwks_server.document = ehr.jwks

    response = _call(cds_app.test_client(), ehr.auth(header={"alg": alg}))

    assert response.status_code == 200


def test_alg_none_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(header={"alg": "none"})), "alg is not accepted")


def test_hs256_is_refused_without_fetching_keys(
    cds: FlaskClient, ehr: Ehr, jwks_server: RecordingServer
) -> None:
    secret = OctKey.generate_key(256, parameters={"kid": ehr.key.kid})

    _refused(_call(cds, ehr.auth(header={"alg": "HS256"}, key=secret)), "alg is not accepted")
    assert jwks_server.requests == []


def test_an_unknown_issuer_is_refused_before_any_fetch(
    cds: FlaskClient, ehr: Ehr, jwks_server: RecordingServer
) -> None:
    _refused(_call(cds, ehr.auth(iss="http://other-ehr.example")), "allow-list")
    assert jwks_server.requests == []


def test_a_jku_off_the_allow_list_is_refused_before_any_fetch(
    cds: FlaskClient, ehr: Ehr, jwks_server: RecordingServer
) -> None:
    other = f"{jwks_server.url}/elsewhere/jwks.json"
    unknown_iss = _call(cds, ehr.auth(iss="http://other-ehr.example"))

    response = _call(cds, ehr.auth(header={"jku": other}))

    _refused(response, "allow-list")
    assert response.json == unknown_iss.json  # the two refusals cannot be told apart
    assert jwks_server.requests == []


def test_a_token_without_jku_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(header={"jku": None})), "needs a jku")


def test_a_token_without_kid_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(header={"kid": None})), "needs a kid")


def test_a_wrong_typ_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(header={"typ": "at+jwt"})), "typ must be JWT")


def test_a_missing_typ_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    header = {"alg": "ES384", "kid": ehr.key.kid, "jku": ehr.jku}
    payload = json.dumps(ehr.claims(SERVICE_PATH)).encode()
    token = jws.serialize_compact(header, payload, ehr.key, algorithms=["ES384"])
    assert "typ" not in jws.extract_compact(token.encode()).headers()

    _refused(_call(cds, {"Authorization": f"Bearer {token}"}), "typ must be JWT")


def test_a_token_not_yet_valid_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(nbf=int(time.time()) + 300)), "not valid yet")


def test_a_token_from_another_issuer_in_its_claims_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(iss=["https://ehr.example"])), "no iss claim")


def test_a_missing_authorization_header_is_refused(cds: FlaskClient) -> None:
    _refused(_call(cds, {}), "Authorization: Bearer")


def test_garbage_is_refused(cds: FlaskClient) -> None:
    _refused(_call(cds, {"Authorization": "Bearer not.a-jwt"}), "not a compact JWT")


@pytest.mark.parametrize(
    "aud",
    [
        "http://localhost:8701/cds-services",
        "http://localhost:8701" + FEEDBACK_PATH,
        "http://localhost" + SERVICE_PATH,  # what a Host-header-derived URL could look like
        "http://localhost:8701" + SERVICE_PATH + "/",
    ],
)
def test_a_wrong_audience_is_refused(cds: FlaskClient, ehr: Ehr, aud: str) -> None:
    _refused(_call(cds, ehr.auth(aud=aud)), "aud is not the URL")


def test_an_audience_list_holding_the_service_url_is_accepted(cds: FlaskClient, ehr: Ehr) -> None:
    aud = ["http://localhost:8701" + SERVICE_PATH]

    assert _call(cds, ehr.auth(aud=aud)).status_code == 200


def test_an_expired_token_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    now = int(time.time())

    _refused(_call(cds, ehr.auth(exp=now - 120, iat=now - 420)), "expired")


def test_a_token_without_exp_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(exp=None)), "numeric exp and iat")


def test_a_long_lived_token_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(exp=int(time.time()) + 3600)), "minutes away")


def test_a_token_issued_in_the_future_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(iat=int(time.time()) + 300)), "iat is in the future")


def test_a_token_without_jti_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(jti=None)), "jti claim")


def test_a_replayed_jti_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    headers = ehr.auth()
    assert _call(cds, headers).status_code == 200

    _refused(_call(cds, headers), "already used")


def test_a_jti_is_refused_by_a_second_app_sharing_the_database(
    cds_app: Flask, ehr: Ehr, settings: Settings
) -> None:
    second = create_app(settings)
    try:
        headers = ehr.auth()
        assert _call(cds_app.test_client(), headers).status_code == 200

        _refused(_call(second.test_client(), headers), "already used")
    finally:
        get_service(Database, second).dispose()


def test_the_same_jti_from_another_issuer_is_a_different_token(
    cds_app: Flask, ehr: Ehr, jwks_server: RecordingServer
) -> None:
    other = Ehr(
        iss="http://second-ehr.example", jku=ehr.jku, public_url=ehr.public_url, key=ehr.key
    )
    register_tenant(
        cds_app,
        EHR_ISS,
        [{"iss": ehr.iss, "jku": ehr.jku}, {"iss": other.iss, "jku": other.jku}],
    )
    client = cds_app.test_client()

    assert _call(client, ehr.auth(jti="shared-id")).status_code == 200
    assert _call(client, other.auth(jti="shared-id")).status_code == 200
    assert len(jwks_server.requests) == 1


def test_a_bad_signature_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    impostor = ECKey.generate_key("P-384", parameters={"kid": ehr.key.kid}, private=True)

    _refused(_call(cds, ehr.auth(key=impostor)), "signature is not valid")


def test_a_tampered_payload_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    genuine = ehr.token(jti="one")
    forged = ehr.token(jti="two")
    head, _, sig = genuine.split(".")
    tampered = ".".join((head, forged.split(".")[1], sig))

    _refused(_call(cds, {"Authorization": f"Bearer {tampered}"}), "signature is not valid")


def test_an_unknown_kid_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    _refused(_call(cds, ehr.auth(header={"kid": "not-published"})), "kid is not in the EHR's")


def test_an_unreachable_key_set_is_refused(
    cds: FlaskClient, ehr: Ehr, jwks_server: RecordingServer
) -> None:
    jwks_server.status = 503

    _refused(_call(cds, ehr.auth()), "could not be fetched")


def test_keys_are_fetched_once_for_many_calls(
    cds: FlaskClient, ehr: Ehr, jwks_server: RecordingServer
) -> None:
    for _ in range(5):
        assert _call(cds, ehr.auth()).status_code == 200

    assert [r.path for r in jwks_server.requests] == ["/cds/jwks.json"]


def test_refusals_are_not_audited_as_calls(cds: FlaskClient, cds_app: Flask, ehr: Ehr) -> None:
    _call(cds, ehr.auth(header={"alg": "none"}))
    _call(cds, ehr.auth(exp=int(time.time()) - 600))

    assert audit_entries(cds_app, "cds:hook:call") == []


def test_two_tenants_trusting_one_key_are_told_apart_by_the_tenant_claim(
    cds_app: Flask, ehr: Ehr
) -> None:
    register_tenant(
        cds_app, "http://127.0.0.1:8702/fhir", [{"iss": ehr.iss, "jku": ehr.jku}], tenant="b"
    )
    client = cds_app.test_client()

    _refused(_call(client, ehr.auth()), "allow-list")
    assert _call(client, ehr.auth(tenant="b")).status_code == 200
    assert [e.tenant_id for e in audit_entries(cds_app, "cds:hook:call")] == ["b"]
