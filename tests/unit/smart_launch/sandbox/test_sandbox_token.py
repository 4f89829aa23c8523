# SPDX-License-Identifier: Apache-2.0
"""The token endpoint: code exchange, client authentication (basic, private_key_jwt) and PKCE."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from typing import Any

import pytest
import requests
from joserfc import jwt

from smart_launch.keys import CLIENT_ASSERTION_TYPE
from smart_launch.keys import ClientKeys

if TYPE_CHECKING:
    from tests.unit.smart_launch.sandbox.conftest import Flow


def test_ehr_launch_with_client_secret_basic(flow: Flow) -> None:
    response = flow.exchange(flow.code())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == flow.ehr_scope
    assert body["patient"] == "pat-1"
    assert body["encounter"] == "enc-1"
    assert body["need_patient_banner"] is True
    assert body["smart_style_url"] == flow.ehr.url + "/smart-style.json"
    assert body["refresh_token"]
    assert body["id_token"]


def test_ehr_launch_with_private_key_jwt(flow: Flow) -> None:
    body = flow.token("quietline-jwt")
    assert body["patient"] == "pat-1"
    assert body["access_token"]
    record = flow.ehr.request_log.matching("/auth/token")[-1]
    assert record.form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert "Authorization" not in record.headers


def test_private_key_jwt_with_es384(flow: Flow) -> None:
    data = {**flow.code_form(flow.code("quietline-jwt")), **flow.assertion(alg="ES384")}
    assert flow.http.post(flow.ehr.token_endpoint, data=data).status_code == 200


def test_granted_scope_is_the_requested_scope_the_client_may_have(flow: Flow) -> None:
    body = flow.token(
        "narrow", scope="launch openid fhirUser patient/Patient.rs patient/Flag.cruds"
    )
    assert body["scope"] == "launch openid fhirUser patient/Patient.rs"
    assert "refresh_token" not in body


def test_pkce_verifier_mismatch_is_refused(flow: Flow) -> None:
    code = flow.code()
    other_verifier, _ = flow.pkce()
    response = flow.exchange(code, verifier=other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_code_verifier_is_refused(flow: Flow) -> None:
    code = flow.code()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri}
    response = flow.http.post(flow.ehr.token_endpoint, data=data, auth=("quietline", flow.secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_redirect_uri_must_match_the_authorization_request(flow: Flow) -> None:
    response = flow.exchange(flow.code(), extra={"redirect_uri": flow.redirect_uri + "?x=1"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_reuse_is_refused_and_revokes_the_tokens(flow: Flow) -> None:
    code = flow.code()
    first = flow.exchange(code)
    assert first.status_code == 200
    token = first.json()["access_token"]
    assert flow.fhir("GET", "/Patient/pat-1", token).status_code == 200
    second = flow.exchange(code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert flow.fhir("GET", "/Patient/pat-1", token).status_code == 401


def test_code_is_bound_to_its_client(flow: Flow) -> None:
    code = flow.code()
    response = flow.exchange(code, client_id="narrow")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_refused_with_401(flow: Flow) -> None:
    data = flow.code_form(flow.code())
    response = flow.http.post(flow.ehr.token_endpoint, data=data, auth=("quietline", "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["Cache-Control"] == "no-store"


def test_only_the_registered_auth_method_is_accepted(flow: Flow) -> None:
    data = {**flow.code_form(flow.code()), **flow.assertion(client_id="quietline")}
    response = flow.http.post(flow.ehr.token_endpoint, data=data)
    assert response.json()["error"] == "invalid_client"


def _assertion_exchange(flow: Flow, assertion: str) -> requests.Response:
    data = {
        **flow.code_form(flow.code("quietline-jwt")),
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return flow.http.post(flow.ehr.token_endpoint, data=data)


def test_jti_replay_is_refused(flow: Flow) -> None:
    assertion = flow.assertion()["client_assertion"]
    assert _assertion_exchange(flow, assertion).status_code == 200
    replay = _assertion_exchange(flow, assertion)
    assert replay.status_code in {400, 401}
    assert replay.json()["error"] == "invalid_client"


def test_assertion_expiring_more_than_300_seconds_ahead_is_refused(flow: Flow) -> None:
    future = int(time.time()) + 120
    assertion = flow.assertion(now=future)["client_assertion"]
    response = _assertion_exchange(flow, assertion)
    assert response.json()["error"] == "invalid_client"
    assert "300" in response.json()["error_description"]


def test_expired_assertion_is_refused(flow: Flow) -> None:
    assertion = flow.assertion(now=int(time.time()) - 3600)["client_assertion"]
    assert _assertion_exchange(flow, assertion).json()["error"] == "invalid_client"


def _sign(keys: ClientKeys, header: dict[str, Any], claims: dict[str, Any], alg: str) -> str:
    return jwt.encode(header, claims, keys.key(alg), algorithms=[alg])


def _claims(flow: Flow, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "quietline-jwt",
        "sub": "quietline-jwt",
        "aud": flow.ehr.token_endpoint,
        "exp": now + 240,
        "iat": now,
        "jti": f"jti-{time.monotonic_ns()}",
    }
    claims.update(overrides)
    return claims


def test_rs256_assertion_is_refused(flow: Flow) -> None:
    rsa = ClientKeys.generate().key("RS384")
    rs256 = type(rsa).import_key(rsa.as_dict(private=True) | {"alg": "RS256"})
    header = {"alg": "RS256", "kid": flow.keys.kid("RS384"), "typ": "JWT"}
    assertion = jwt.encode(header, _claims(flow), rs256, algorithms=["RS256"])
    response = _assertion_exchange(flow, assertion)
    assert response.json()["error"] == "invalid_client"
    assert "RS384 or ES384" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("header_overrides", "claim_overrides"),
    [
        ({"kid": "unknown-kid"}, {}),
        ({"kid": None}, {}),
        ({}, {"aud": "http://127.0.0.1:1/auth/token"}),
        ({}, {"iss": "someone-else"}),
        ({}, {"exp": None}),
    ],
)
def test_malformed_assertions_are_refused(
    flow: Flow, header_overrides: dict[str, Any], claim_overrides: dict[str, Any]
) -> None:
    header = {"alg": "RS384", "kid": flow.keys.kid("RS384"), "typ": "JWT", **header_overrides}
    claims = _claims(flow, **claim_overrides)
    assertion = _sign(
        flow.keys,
        {k: v for k, v in header.items() if v is not None},
        {k: v for k, v in claims.items() if v is not None},
        "RS384",
    )
    assert _assertion_exchange(flow, assertion).json()["error"] == "invalid_client"


def test_assertion_signed_by_another_key_is_refused(flow: Flow) -> None:
    stranger = ClientKeys.generate()
    header = {"alg": "ES384", "kid": flow.keys.kid("ES384"), "typ": "JWT"}
    assertion = _sign(stranger, header, _claims(flow), "ES384")
    assert _assertion_exchange(flow, assertion).json()["error"] == "invalid_client"
