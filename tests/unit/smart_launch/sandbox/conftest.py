# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the sandbox EHR tests: a real server on a free port and a SMART flow helper."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from dataclasses import field
from html import unescape
from typing import TYPE_CHECKING
from typing import Any
from typing import ClassVar
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests

from smart_launch.keys import CLIENT_ASSERTION_TYPE
from smart_launch.keys import ClientKeys
from smart_launch.keys import client_assertion
from smart_launch.sandbox import ClientRegistration
from smart_launch.sandbox import RunningSandbox
from smart_launch.sandbox import SandboxConfig
from smart_launch.sandbox import start

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REDIRECT_URI = "http://localhost:8701/launch/callback"
LAUNCH_URL = "http://localhost:8701/launch"
BASIC_SECRET = "basic-client-secret-for-tests"
APP_SCOPE = (
    "launch launch/patient openid fhirUser online_access offline_access "
    "patient/*.cruds user/*.cruds"
)
EHR_SCOPE = (
    "launch openid fhirUser online_access patient/Patient.rs patient/Appointment.cruds "
    "patient/Encounter.rs patient/Flag.cruds"
)
FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture(scope="session")
def client_keys() -> ClientKeys:
    """One RS384 + ES384 key pair for the whole run (RSA generation is slow)."""
    return ClientKeys.generate()


def _basic_client(client_id: str, scope: str) -> ClientRegistration:
    """A ``client_secret_basic`` app using the shared test secret, redirect and launch URLs."""
    return ClientRegistration(
        client_id=client_id,
        auth_method="client_secret_basic",
        client_secret=BASIC_SECRET,
        redirect_uris=(REDIRECT_URI,),
        launch_url=LAUNCH_URL,
        scope=scope,
    )


@pytest.fixture
def registrations(client_keys: ClientKeys) -> list[ClientRegistration]:
    """A basic-auth app, a private_key_jwt app with Backend Services, and a narrow app."""
    return [
        _basic_client("quietline", APP_SCOPE),
        ClientRegistration(
            client_id="quietline-jwt",
            auth_method="private_key_jwt",
            jwks=client_keys.public_jwks(),
            redirect_uris=(REDIRECT_URI,),
            launch_url=LAUNCH_URL,
            scope=APP_SCOPE + " system/*.rs system/Task.cruds",
            grant_types=("authorization_code", "refresh_token", "client_credentials"),
        ),
        _basic_client("narrow", "launch openid fhirUser patient/Patient.rs"),
    ]


@pytest.fixture
def sandbox(tmp_path: Path, registrations: list[ClientRegistration]) -> Iterator[RunningSandbox]:
    """A sandbox serving real HTTP on a free port, stopped after the test."""
    config = SandboxConfig(db_path=tmp_path / "ehr.sqlite3", clients=registrations)
    with start(config) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A plain HTTP session (cookies kept, redirects not followed by the helpers)."""
    with requests.Session() as session:
        yield session


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (first values)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def flag_resource(patient: str = "pat-1", **extra: Any) -> dict[str, Any]:
    """An active Flag about ``patient``; ``extra`` adds or replaces elements."""
    return {
        "resourceType": "Flag",
        "status": "active",
        "code": {"text": "Verify identity before changing appointments"},
        "subject": {"reference": f"Patient/{patient}"},
        **extra,
    }


def match_ids(response: requests.Response) -> list[str]:
    """The ids of the ``match`` entries of a searchset Bundle response."""
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    return [
        entry["resource"]["id"] for entry in bundle["entry"] if entry["search"]["mode"] == "match"
    ]


@dataclass
class Flow:
    """Drives SMART flows against one sandbox over real HTTP."""

    ehr: RunningSandbox
    http: requests.Session
    keys: ClientKeys
    verifier: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    redirect_uri: str = REDIRECT_URI
    secret: str = BASIC_SECRET
    ehr_scope: str = EHR_SCOPE

    fhir_json: ClassVar[dict[str, str]] = FHIR_JSON
    pkce = staticmethod(pkce_pair)
    query_of = staticmethod(query_of)
    flag = staticmethod(flag_resource)
    ids = staticmethod(match_ids)

    def launch(
        self, patient: str = "pat-1", user: str = "therapist", app: str = "quietline"
    ) -> str:
        """Open the chart page and return the launch id from the iframe's URL."""
        response = self.http.get(
            self.ehr.url + "/ehr/launch", params={"patient": patient, "user": user, "app": app}
        )
        assert response.status_code == 200
        match = re.search(r'<iframe id="app-frame" title="Quietline" src="([^"]+)"', response.text)
        assert match is not None
        src = unescape(match.group(1))
        query = query_of(src)
        assert query["iss"] == self.ehr.fhir_base
        return query["launch"]

    def authorize_params(self, client_id: str = "quietline", **overrides: str) -> dict[str, str]:
        """A complete, valid EHR-launch authorization request (PKCE S256)."""
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": EHR_SCOPE,
            "state": self.state,
            "aud": self.ehr.fhir_base,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {key: value for key, value in params.items() if value != ""}

    def authorize(self, params: dict[str, str]) -> requests.Response:
        """GET the authorization endpoint without following redirects."""
        return self.http.get(self.ehr.authorization_endpoint, params=params, allow_redirects=False)

    def code(self, client_id: str = "quietline", **overrides: str) -> str:
        """Launch from the chart and return the authorization code."""
        if "launch" not in overrides:
            overrides["launch"] = self.launch(app=client_id)
        response = self.authorize(self.authorize_params(client_id, **overrides))
        assert response.status_code == 302, response.text
        query = query_of(response.headers["Location"])
        assert query["state"] == self.state
        return query["code"]

    def assertion(self, client_id: str = "quietline-jwt", **kwargs: Any) -> dict[str, str]:
        """Form fields of a ``private_key_jwt`` client assertion."""
        token = client_assertion(
            self.keys, client_id=client_id, token_endpoint=self.ehr.token_endpoint, **kwargs
        )
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": token}

    def exchange(
        self,
        code: str,
        *,
        client_id: str = "quietline",
        verifier: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> requests.Response:
        """Exchange ``code``, authenticating with the client's registered method."""
        data = self.code_form(code, verifier=verifier)
        data.update(extra or {})
        return self.token_request(data, client_id=client_id)

    def code_form(self, code: str, *, verifier: str | None = None) -> dict[str, str]:
        """The token request fields that exchange ``code`` (without client authentication)."""
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier if verifier is None else verifier,
        }

    def token_request(self, data: dict[str, str], *, client_id: str) -> requests.Response:
        """POST to the token endpoint with Basic auth or a fresh client assertion."""
        if client_id == "quietline-jwt":
            return self.http.post(self.ehr.token_endpoint, data={**data, **self.assertion()})
        return self.http.post(self.ehr.token_endpoint, data=data, auth=(client_id, BASIC_SECRET))

    def token(self, client_id: str = "quietline", **overrides: str) -> dict[str, Any]:
        """A full EHR launch ending in a token response body."""
        response = self.exchange(self.code(client_id, **overrides), client_id=client_id)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def fhir(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        """A FHIR request with ``Authorization: Bearer``."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.ehr.fhir_base + path, headers=headers, **kwargs)

    def create_flag(
        self,
        token: str,
        patient: str = "pat-1",
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> requests.Response:
        """POST :func:`flag_resource` as FHIR JSON; ``headers`` are sent as well."""
        return self.fhir(
            "POST",
            "/Flag",
            token,
            json=flag_resource(patient, **extra),
            headers={**FHIR_JSON, **(headers or {})},
        )


@pytest.fixture
def flow(sandbox: RunningSandbox, http: requests.Session, client_keys: ClientKeys) -> Flow:
    """A :class:`Flow` bound to the test's sandbox."""
    return Flow(sandbox, http, client_keys)


@pytest.fixture
def user_token(flow: Flow) -> str:
    """An access token with ``user/*.cruds`` (any instance) for pat-1's launch."""
    return str(flow.token(scope="launch openid fhirUser user/*.cruds")["access_token"])


@pytest.fixture
def patient_token(flow: Flow) -> str:
    """An access token limited to pat-1's compartment."""
    return str(flow.token()["access_token"])
