# SPDX-License-Identifier: Apache-2.0
"""smart_launch.tokens against a real HTTP token endpoint answering canned responses."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from smart_launch.errors import TokenRequestError
from smart_launch.errors import UpstreamUnavailable
from smart_launch.keys import CLIENT_ASSERTION_TYPE
from smart_launch.keys import ClientKeys
from smart_launch.scopes import ScopeSet
from smart_launch.tokens import ClientAuth
from smart_launch.tokens import ClientSecretBasic
from smart_launch.tokens import PrivateKeyJwtAuth
from smart_launch.tokens import TokenResponse
from smart_launch.tokens import exchange_code
from smart_launch.tokens import refresh

if TYPE_CHECKING:
    from conftest import Peer

TOKEN_PATH = "/auth/token"
SECRET = "s3cret-never-shown"
REDIRECT_URI = "https://quietline.example/launch/callback"
REQUESTED = ScopeSet.parse("launch openid fhirUser patient/Patient.rs patient/Appointment.rus")


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": str(REQUESTED),
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def _basic() -> ClientSecretBasic:
    return ClientSecretBasic("quietline", SECRET)


def _exchange(peer: Peer, auth: ClientAuth | None = None) -> TokenResponse:
    return exchange_code(
        token_endpoint=peer.url + TOKEN_PATH,
        auth=auth or _basic(),
        code="code-1",
        code_verifier="verifier-1",
        redirect_uri=REDIRECT_URI,
        requested=REQUESTED,
    )


def _refresh(peer: Peer, auth: ClientAuth | None = None) -> TokenResponse:
    return refresh(
        token_endpoint=peer.url + TOKEN_PATH,
        auth=auth or _basic(),
        refresh_token="rt-old",
        current_scope=REQUESTED,
    )


def _claims(assertion: str, index: int = 1) -> dict[str, Any]:
    part = assertion.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_client_secret_basic_sends_a_basic_header_and_no_credentials_in_the_body(
    peer: Peer,
) -> None:
    peer.json(TOKEN_PATH, _body(), method="POST")
    _exchange(peer)

    (request,) = peer.requests_to(TOKEN_PATH)
    expected = base64.b64encode(f"quietline:{SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert dict(request.form) == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "code_verifier": "verifier-1",
        "redirect_uri": REDIRECT_URI,
    }
    assert SECRET not in request.get_data(as_text=True)


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_private_key_jwt_sends_a_fresh_smart_assertion_each_call(
    peer: Peer, app_keys: ClientKeys, alg: str
) -> None:
    peer.json(TOKEN_PATH, _body(), method="POST")
    auth = PrivateKeyJwtAuth("quietline-jwt", app_keys, alg=alg)
    _exchange(peer, auth)
    _exchange(peer, auth)

    published = KeySet.import_key_set(app_keys.public_jwks())
    jtis = []
    for request in peer.requests_to(TOKEN_PATH):
        form = request.form
        assert "Authorization" not in request.headers
        assert "client_secret" not in form
        assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
        assert form["code_verifier"] == "verifier-1"
        token = jwt.decode(form["client_assertion"], published, algorithms=[alg])
        assert token.header == {"alg": alg, "kid": app_keys.kid(alg), "typ": "JWT"}
        assert token.claims["iss"] == token.claims["sub"] == "quietline-jwt"
        assert token.claims["aud"] == peer.url + TOKEN_PATH
        assert token.claims["exp"] - int(time.time()) <= 300
        jtis.append(token.claims["jti"])
    assert len(jtis) == 2
    assert jtis[0] != jtis[1]


@pytest.mark.parametrize("token_type", ["bearer", "Bearer", "BEARER"])
def test_token_type_is_case_insensitive(peer: Peer, token_type: str) -> None:
    peer.json(TOKEN_PATH, _body(token_type=token_type), method="POST")
    assert _exchange(peer).access_token == "at-1"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        pytest.param(_body(token_type="mac"), "unsupported type", id="mac"),
        pytest.param(_body(token_type="DPoP"), "unsupported type", id="dpop"),
        pytest.param(_body(token_type=None), "unsupported type", id="no-token-type"),
        pytest.param(_body(token_type=1), "unsupported type", id="numeric-token-type"),
        pytest.param(_body(access_token=None), "no access token", id="no-access-token"),
        pytest.param(_body(access_token=""), "no access token", id="empty-access-token"),
        pytest.param(_body(access_token=7), "no access token", id="numeric-access-token"),
        pytest.param(_body(expires_in="soon"), "token", id="expires-in-word"),
        pytest.param(_body(expires_in=[1]), "token", id="expires-in-array"),
        pytest.param(_body(expires_in={"s": 1}), "token", id="expires-in-object"),
    ],
)
def test_unusable_token_responses_are_refused(peer: Peer, body: dict[str, Any], match: str) -> None:
    peer.json(TOKEN_PATH, body, method="POST")
    with pytest.raises(TokenRequestError, match=match):
        _exchange(peer)


@pytest.mark.parametrize("status", [400, 401])
def test_an_error_answer_names_the_code_but_never_the_secret(peer: Peer, status: int) -> None:
    peer.json(
        TOKEN_PATH,
        {"error": "invalid_client", "error_description": f"bad secret {SECRET}"},
        status=status,
        method="POST",
    )
    with pytest.raises(TokenRequestError) as raised:
        _exchange(peer)

    assert "invalid_client" in raised.value.description
    assert SECRET not in str(raised.value)
    assert SECRET not in raised.value.description
    assert raised.value.status_code == 502


def test_an_error_answer_never_shows_the_client_assertion(peer: Peer, app_keys: ClientKeys) -> None:
    peer.json(TOKEN_PATH, {"error": "invalid_client"}, status=400, method="POST")
    with pytest.raises(TokenRequestError) as raised:
        _exchange(peer, PrivateKeyJwtAuth("quietline-jwt", app_keys))

    assertion = peer.requests_to(TOKEN_PATH)[0].form["client_assertion"]
    for part in assertion.split("."):
        assert part not in str(raised.value)
    assert "invalid_client" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, "<html>Welcome</html>", "text/html"),
        (200, '["at-1"]', "application/json"),
        (400, "<html>Bad request</html>", "text/html"),
        (403, "Forbidden", "text/plain"),
    ],
)
def test_an_answer_that_is_not_a_token_object_is_a_token_error(
    peer: Peer, status: int, body: str, content_type: str
) -> None:
    peer.text(TOKEN_PATH, body, status=status, method="POST", content_type=content_type)
    with pytest.raises(TokenRequestError):
        _exchange(peer)


@pytest.mark.parametrize("status", [502, 503])
def test_a_gateway_error_is_upstream_unavailable(peer: Peer, status: int) -> None:
    peer.text(TOKEN_PATH, "<html>down</html>", status=status, method="POST")
    with pytest.raises(UpstreamUnavailable):
        _exchange(peer)


def test_an_unreachable_token_endpoint_is_upstream_unavailable(closed_url: str) -> None:
    with pytest.raises(UpstreamUnavailable):
        exchange_code(
            token_endpoint=closed_url + TOKEN_PATH,
            auth=_basic(),
            code="code-1",
            code_verifier="verifier-1",
            redirect_uri=REDIRECT_URI,
            requested=REQUESTED,
        )


def test_refresh_keeps_the_old_refresh_token_when_none_is_returned(peer: Peer) -> None:
    peer.json(TOKEN_PATH, _body(access_token="at-2"), method="POST")
    token = _refresh(peer)

    (request,) = peer.requests_to(TOKEN_PATH)
    assert request.form["grant_type"] == "refresh_token"
    assert request.form["refresh_token"] == "rt-old"
    assert request.headers["Authorization"].startswith("Basic ")
    assert "client_id" not in request.form
    assert (token.access_token, token.refresh_token) == ("at-2", "rt-old")


def test_refresh_replaces_the_refresh_token_when_one_is_returned(peer: Peer) -> None:
    peer.json(TOKEN_PATH, _body(access_token="at-2", refresh_token="rt-new"), method="POST")
    token = _refresh(peer)
    assert token.refresh_token == "rt-new"


def test_refresh_with_private_key_jwt_signs_an_assertion(peer: Peer, app_keys: ClientKeys) -> None:
    peer.json(TOKEN_PATH, _body(refresh_token="rt-new"), method="POST")
    _refresh(peer, PrivateKeyJwtAuth("quietline-jwt", app_keys, alg="ES384"))
    form = peer.requests_to(TOKEN_PATH)[0].form
    assert form["refresh_token"] == "rt-old"
    assert _claims(form["client_assertion"], 0)["alg"] == "ES384"


def test_a_refused_refresh_is_a_token_error(peer: Peer) -> None:
    peer.json(TOKEN_PATH, {"error": "invalid_grant"}, status=400, method="POST")
    with pytest.raises(TokenRequestError, match="invalid_grant"):
        _refresh(peer)


def test_a_missing_scope_means_the_requested_scope(peer: Peer) -> None:
    peer.json(TOKEN_PATH, _body(scope=None), method="POST")
    assert _exchange(peer).scope == REQUESTED


def test_a_missing_scope_on_refresh_means_the_current_scope(peer: Peer) -> None:
    peer.json(TOKEN_PATH, _body(scope=None), method="POST")
    assert _refresh(peer).scope == REQUESTED


def test_a_narrower_granted_scope_is_kept_as_granted(peer: Peer) -> None:
    peer.json(TOKEN_PATH, _body(scope="launch openid patient/Patient.rs"), method="POST")
    token = _exchange(peer)
    assert token.scope == ScopeSet.parse("launch openid patient/Patient.rs")
    assert token.scope.missing_from(REQUESTED) == ("fhirUser", "patient/Appointment.rus")


def test_launch_context_and_unknown_fields_are_kept(peer: Peer) -> None:
    peer.json(
        TOKEN_PATH,
        _body(
            refresh_token="rt-1",
            id_token="a.b.c",
            patient="pat-1",
            encounter="enc-1",
            need_patient_banner=True,
            smart_style_url="/smart-style.json",
            fhirContext=[{"reference": "Appointment/ap-1"}],
            tenant="t1",
        ),
        method="POST",
    )
    token = _exchange(peer)
    assert (token.patient, token.encounter) == ("pat-1", "enc-1")
    assert token.need_patient_banner is True
    assert token.smart_style_url == peer.url + "/smart-style.json"
    assert token.id_token == "a.b.c"
    assert token.extra == {"fhirContext": [{"reference": "Appointment/ap-1"}], "tenant": "t1"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"need_patient_banner": "true", "patient": "", "encounter": 5, "smart_style_url": ""},
        {"need_patient_banner": 1, "patient": None, "id_token": 12},
    ],
)
def test_malformed_context_fields_are_dropped(peer: Peer, overrides: dict[str, Any]) -> None:
    peer.json(TOKEN_PATH, {**_body(), **overrides}, method="POST")
    token = _exchange(peer)
    assert token.need_patient_banner is False
    assert token.patient is None
    assert token.encounter is None
    assert token.smart_style_url is None
    assert token.id_token is None


def test_expiry_follows_expires_in_and_defaults_to_300_seconds(peer: Peer) -> None:
    peer.json(TOKEN_PATH, _body(expires_in=120), method="POST")
    before = time.time()
    token = _exchange(peer)
    assert before + 120 <= token.expires_at <= time.time() + 120
    assert token.expires_within(121)
    assert not token.expires_within(100)

    peer.json(TOKEN_PATH, _body(expires_in=None), method="POST")
    token = _exchange(peer)
    assert token.expires_within(300)
    assert not token.expires_within(290)


def test_the_tokens_never_appear_in_repr(peer: Peer) -> None:
    peer.json(
        TOKEN_PATH,
        _body(access_token="AT-SECRET", refresh_token="RT-SECRET", id_token="ID-SECRET"),
        method="POST",
    )
    token = _exchange(peer)
    shown = repr(token)
    assert not any(secret in shown for secret in ("AT-SECRET", "RT-SECRET", "ID-SECRET"))
    assert SECRET not in repr(_basic())


def test_the_app_context_of_the_token_response_is_kept_and_not_shown(peer: Peer) -> None:
    app_context = '{"verify":{"appointment":"appt-1-next","action":"reschedule"}}'
    peer.json(TOKEN_PATH, _body(appContext=app_context), method="POST")
    answer = _exchange(peer)
    assert answer.app_context == app_context
    assert "appContext" not in answer.extra
    assert "appt-1-next" not in repr(answer)


@pytest.mark.parametrize("value", [None, "", 7, {"verify": {}}, ["a"]])
def test_a_missing_or_non_string_app_context_is_none(peer: Peer, value: object) -> None:
    peer.json(TOKEN_PATH, _body(appContext=value), method="POST")
    assert _exchange(peer).app_context is None


def test_a_refresh_answer_keeps_its_own_app_context_only(peer: Peer) -> None:
    peer.json(TOKEN_PATH, _body(), method="POST")
    assert _refresh(peer).app_context is None
