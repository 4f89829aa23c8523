# SPDX-License-Identifier: Apache-2.0
"""Unit tests of smart_launch.backend against a real werkzeug token endpoint on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import TYPE_CHECKING
from typing import Any

import pytest
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from smart_launch.backend import DEFAULT_EXPIRES_IN
from smart_launch.backend import BackendServicesClient
from smart_launch.backend import BackendToken
from smart_launch.backend import TokenEndpointUnavailable
from smart_launch.backend import parse_token_response
from smart_launch.backend import system_scopes
from smart_launch.errors import ClientAuthError
from smart_launch.errors import DiscoveryError
from smart_launch.errors import ScopeError
from smart_launch.errors import TokenRequestError
from smart_launch.errors import UpstreamUnavailable
from smart_launch.fhir import FhirClient
from smart_launch.keys import ClientKeys

if TYPE_CHECKING:
    from tests.unit.smart_launch.conftest import Peer

SCOPE = "system/Task.rs system/Patient.r"
# Scope strings a Backend Services client refuses before sending anything.
NOT_SYSTEM_SCOPES = [
    "patient/Patient.rs",
    "user/*.cruds",
    "system/Task.rs launch",
    "openid fhirUser",
    "offline_access",
    "system/",
    "",
    "   ",
]


@pytest.fixture
def server(peer: Peer) -> Peer:
    """The token endpoint (and SMART configuration); a request with no route gets 599."""
    peer.missing_status = 599
    return peer


def _answer(server: Peer, body: object, status: int = 200, path: str = "/auth/token") -> None:
    """Answer ``POST path`` with ``body`` as JSON."""
    server.json(path, body, status=status, method="POST")


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys.generate()


def _good(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": "at-1",
        "token_type": "bearer",
        "expires_in": 300,
        "scope": SCOPE,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def _client(server: Peer, keys: ClientKeys, **kwargs: Any) -> BackendServicesClient:
    kwargs.setdefault("token_endpoint", server.token_endpoint)
    return BackendServicesClient(server.fhir_base, "svc", keys, SCOPE, **kwargs)


def _claims(assertion: str, index: int = 1) -> dict[str, Any]:
    part = assertion.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


@pytest.mark.parametrize("scope", NOT_SYSTEM_SCOPES)
def test_non_system_scopes_are_refused_locally(scope: str, server: Peer, keys: ClientKeys) -> None:
    with pytest.raises(ScopeError):
        BackendServicesClient(
            server.fhir_base, "svc", keys, scope, token_endpoint=server.token_endpoint
        )
    assert server.seen == []


def test_system_scopes_are_split() -> None:
    assert system_scopes(" system/Task.rs  system/*.cruds ") == ("system/Task.rs", "system/*.cruds")


def test_refused_scopes_are_named() -> None:
    with pytest.raises(ScopeError, match=r"patient/Patient\.r"):
        system_scopes("system/Task.rs patient/Patient.r")


@pytest.mark.parametrize("token_type", ["bearer", "Bearer", "BEARER"])
def test_token_type_is_compared_case_insensitively(token_type: str) -> None:
    token = parse_token_response(_good(token_type=token_type), requested=("system/Task.rs",))
    assert token.token_type == token_type


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_good(access_token=None), "no access_token"),
        (_good(access_token=""), "no access_token"),
        (_good(token_type="mac"), "not a bearer"),
        (_good(token_type=None), "not a bearer"),
        (_good(expires_in=0), "invalid expires_in"),
        (_good(expires_in=-5), "invalid expires_in"),
        (_good(expires_in="soon"), "invalid expires_in"),
        (_good(expires_in=True), "invalid expires_in"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_unusable_token_responses_are_refused(body: object, fragment: str) -> None:
    with pytest.raises(TokenRequestError, match=fragment):
        parse_token_response(body, requested=("system/Task.rs",))


def test_missing_expires_in_is_taken_as_300_and_noted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="smart_launch.backend"):
        token = parse_token_response(_good(expires_in=None), requested=("system/Task.rs",), now=0)

    assert token.expires_in == DEFAULT_EXPIRES_IN == 300
    assert token.expires_in_assumed
    assert token.expires_at == 300
    assert "expires_in" in caplog.text


def test_expires_in_as_a_digit_string_is_accepted() -> None:
    token = parse_token_response(_good(expires_in="120"), requested=("system/Task.rs",), now=10)
    assert (token.expires_in, token.expires_at) == (120, 130)


def test_granted_scope_may_differ_and_a_missing_one_means_requested(
    caplog: pytest.LogCaptureFixture,
) -> None:
    narrowed = parse_token_response(_good(scope="system/Task.r"), requested=("system/Task.rs",))
    with caplog.at_level(logging.WARNING, logger="smart_launch.backend"):
        missing = parse_token_response(_good(scope=None), requested=("system/Task.rs",))

    assert narrowed.scopes == frozenset({"system/Task.r"})
    assert missing.scopes == frozenset({"system/Task.rs"})
    assert "scope" in caplog.text


def test_a_refresh_token_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="smart_launch.backend"):
        token = parse_token_response(_good(refresh_token="rt-1"), requested=("system/Task.rs",))

    assert "rt-1" not in repr(token)
    assert "refresh_token" in caplog.text
    assert "rt-1" not in caplog.text


def test_the_token_stays_out_of_repr() -> None:
    token = parse_token_response(_good(access_token="secret-at"), requested=("system/Task.rs",))
    assert "secret-at" not in repr(token)


def test_usable_until_30_seconds_before_expiry() -> None:
    token = BackendToken("at", "bearer", 300, expires_at=1000.0, scopes=frozenset())
    assert token.usable(969.9)
    assert not token.usable(970.0)


def test_token_request_carries_a_fresh_smart_assertion(server: Peer, keys: ClientKeys) -> None:
    _answer(server, _good(expires_in=10))  # inside the 30 s margin: never cached

    client = _client(server, keys, alg="ES384")
    client.access_token()
    client.access_token()

    first, second = server.forms
    assert first["grant_type"] == "client_credentials"
    assert first["scope"] == SCOPE
    assert (
        first["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assert "client_id" not in first
    header, claims = _claims(first["client_assertion"], 0), _claims(first["client_assertion"])
    assert (header["alg"], header["kid"]) == ("ES384", keys.kid("ES384"))
    assert claims["aud"] == server.token_endpoint
    assert claims["iss"] == claims["sub"] == "svc"
    assert claims["exp"] - claims["iat"] <= 300
    assert claims["jti"] != _claims(second["client_assertion"])["jti"]


def test_token_is_cached_until_the_margin(server: Peer, keys: ClientKeys) -> None:
    _answer(server, _good(expires_in=300))
    client = _client(server, keys)

    tokens = {client.access_token() for _ in range(5)}

    assert tokens == {"at-1"}
    assert len(server.forms) == 1
    assert client.granted_scopes == frozenset(SCOPE.split())


def test_concurrent_callers_share_one_token_request(server: Peer, keys: ClientKeys) -> None:
    _answer(server, _good())
    client = _client(server, keys)
    results: list[str] = []

    threads = [
        threading.Thread(target=lambda: results.append(client.access_token())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["at-1"] * 8
    assert len(server.forms) == 1


def test_invalidate_forces_a_new_token(server: Peer, keys: ClientKeys) -> None:
    _answer(server, _good())
    client = _client(server, keys)
    client.access_token()

    client.invalidate()
    client.access_token()

    assert len(server.forms) == 2


def test_a_refusal_names_the_oauth_error_but_never_the_assertion(
    server: Peer, keys: ClientKeys
) -> None:
    def refuse(request: Request) -> Response:
        echo = {
            "error": "invalid_client",
            "error_description": f"bad {request.form['client_assertion']}",
        }
        return Response(json.dumps(echo), status=401, content_type="application/json")

    server.routes[("POST", "/auth/token")] = refuse

    with pytest.raises(TokenRequestError) as caught:
        _client(server, keys).access_token()

    message = caught.value.description
    assert "invalid_client" in message
    assert "HTTP 401" in message
    assert server.forms[0]["client_assertion"] not in message
    assert "[redacted]" in message


def test_a_server_error_page_is_a_token_request_error(server: Peer, keys: ClientKeys) -> None:
    server.routes[("POST", "/auth/token")] = lambda _r: Response(
        "Internal Server Error", status=500
    )

    with pytest.raises(TokenRequestError, match="HTTP 500"):
        _client(server, keys).access_token()


def test_a_200_that_is_not_json_is_refused(server: Peer, keys: ClientKeys) -> None:
    server.routes[("POST", "/auth/token")] = lambda _r: Response("<html></html>")

    with pytest.raises(TokenRequestError, match="not JSON"):
        _client(server, keys).access_token()


def test_the_token_endpoint_is_discovered(server: Peer, keys: ClientKeys) -> None:
    config = {"token_endpoint": "../auth/token", "capabilities": ["client-confidential-asymmetric"]}
    server.routes[("GET", "/fhir/.well-known/smart-configuration")] = lambda _r: Response(
        json.dumps(config), content_type="application/json"
    )
    _answer(server, _good())
    client = _client(server, keys, token_endpoint=None)

    assert client.access_token() == "at-1"
    assert client.token_endpoint == server.token_endpoint
    assert _claims(server.forms[0]["client_assertion"])["aud"] == server.token_endpoint


def test_an_ehr_that_does_not_take_our_algorithm_is_refused(server: Peer, keys: ClientKeys) -> None:
    config = {
        "token_endpoint": server.token_endpoint,
        "token_endpoint_auth_signing_alg_values_supported": ["RS384"],
    }
    server.routes[("GET", "/fhir/.well-known/smart-configuration")] = lambda _r: Response(
        json.dumps(config), content_type="application/json"
    )

    with pytest.raises(ClientAuthError, match="ES384"):
        _client(server, keys, token_endpoint=None, alg="ES384").access_token()
    assert server.forms == []


def test_a_configuration_without_token_endpoint_is_a_discovery_error(
    server: Peer, keys: ClientKeys
) -> None:
    server.routes[("GET", "/fhir/.well-known/smart-configuration")] = lambda _r: Response(
        json.dumps({"capabilities": []}), content_type="application/json"
    )

    with pytest.raises(DiscoveryError):
        _client(server, keys, token_endpoint=None).access_token()


def test_an_unsupported_algorithm_is_refused_up_front(server: Peer, keys: ClientKeys) -> None:
    with pytest.raises(ClientAuthError, match="RS256"):
        _client(server, keys, alg="RS256")


def test_an_unreachable_token_endpoint_is_upstream_unavailable(
    keys: ClientKeys, closed_url: str
) -> None:
    client = BackendServicesClient(
        f"{closed_url}/fhir", "svc", keys, SCOPE, token_endpoint=f"{closed_url}/t"
    )

    with pytest.raises(UpstreamUnavailable):
        client.access_token()


def test_the_client_is_a_token_source_for_the_fhir_client(server: Peer, keys: ClientKeys) -> None:
    _answer(server, _good(access_token="at-42"))
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    server.routes[("GET", "/fhir/Task")] = lambda _r: Response(
        json.dumps(bundle), content_type="application/fhir+json"
    )

    found = FhirClient(server.fhir_base, _client(server, keys)).search("Task", {})

    assert found == []
    (search,) = [r for r in server.seen if r.method == "GET"]
    assert search.headers["Authorization"] == "Bearer at-42"


def test_a_client_secret_authenticates_with_http_basic_and_no_assertion(
    server: Peer,
) -> None:
    _answer(server, _good())
    secret = "backend-secret-0123456789abcdef"

    client = BackendServicesClient(
        server.fhir_base,
        "svc",
        None,
        SCOPE,
        client_secret=secret,
        token_endpoint=server.token_endpoint,
    )
    assert client.access_token() == "at-1"

    (request,) = server.seen
    auth = request.headers["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == f"svc:{secret}"
    assert request.form["grant_type"] == "client_credentials"
    assert "client_assertion" not in request.form
    assert "client_secret" not in request.form
    assert secret not in repr(client)


def test_a_client_needs_keys_or_a_secret() -> None:
    with pytest.raises(ClientAuthError):
        BackendServicesClient("https://ehr.example/fhir", "svc", None, SCOPE)


@pytest.mark.parametrize("status", [429, 502, 503])
def test_an_overloaded_token_endpoint_is_told_apart_from_a_refusal(
    server: Peer, keys: ClientKeys, status: int
) -> None:
    _answer(server, {"error": "temporarily_unavailable"}, status=status)

    with pytest.raises(TokenEndpointUnavailable, match=f"HTTP {status}"):
        _client(server, keys).access_token()


def test_a_refusal_is_not_an_unavailable_endpoint(server: Peer, keys: ClientKeys) -> None:
    _answer(server, {"error": "invalid_client"}, status=401)

    with pytest.raises(TokenRequestError) as caught:
        _client(server, keys).access_token()
    assert not isinstance(caught.value, TokenEndpointUnavailable)
