# SPDX-License-Identifier: Apache-2.0
"""SMART Backend Services against every contract server."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import parse_qs

import pytest

from smart_launch.fhir import FhirClient
from smart_launch.http import make_session

from .conftest import SCOPE
from .conftest import ContractServer
from .conftest import backend_for

if TYPE_CHECKING:
    import requests

    from smart_launch.backend import BackendServicesClient
    from smart_launch.keys import ClientKeys


def _recording_session() -> tuple[requests.Session, list[requests.Response]]:
    """A normal session that keeps every response, so the test sees what went on the wire."""
    session = make_session()
    seen: list[requests.Response] = []

    def keep(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        seen.append(response)

    session.hooks["response"].append(keep)
    return session, seen


def _token_requests(seen: list[requests.Response]) -> list[dict[str, list[str]]]:
    forms = []
    for response in seen:
        if response.request.method == "POST" and response.request.body:
            body = response.request.body
            text = body.decode() if isinstance(body, bytes) else str(body)
            forms.append(parse_qs(text))
    return forms


def _jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_token_is_a_short_lived_bearer_for_system_scopes(
    contract_server: ContractServer, backend: BackendServicesClient
) -> None:
    token = backend.token()

    assert token.token_type.casefold() == "bearer"
    assert token.access_token
    assert not token.expires_in_assumed, "the server must send the REQUIRED expires_in"
    assert 0 < token.expires_in <= contract_server.max_expires_in
    assert token.scopes
    assert all(scope.startswith("system/") for scope in token.scopes)
    assert backend.granted_scopes == token.scopes


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_both_assertion_algorithms_are_accepted(
    contract_server: ContractServer, client_keys: ClientKeys, alg: str
) -> None:
    session, seen = _recording_session()
    backend = backend_for(contract_server, client_keys, alg=alg, session=session)

    FhirClient(contract_server.fhir_base, backend).search("Patient", {"_count": "1"})

    (form,) = _token_requests(seen)
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == [SCOPE]
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assertion = form["client_assertion"][0]
    header, claims = _jwt_part(assertion, 0), _jwt_part(assertion, 1)
    assert header["alg"] == alg
    assert header["kid"] == client_keys.kid(alg)
    assert header["typ"] == "JWT"
    assert claims["iss"] == claims["sub"] == contract_server.client_ids[alg]
    assert claims["aud"] == backend.token_endpoint
    assert 0 < claims["exp"] - claims["iat"] <= 300
    token_response = next(r for r in seen if r.request.method == "POST")
    assert token_response.status_code == 200


def test_token_is_cached_and_each_request_has_a_fresh_assertion(
    contract_server: ContractServer, client_keys: ClientKeys
) -> None:
    session, seen = _recording_session()
    first = backend_for(contract_server, client_keys, session=session)
    second = backend_for(contract_server, client_keys, session=session)

    assert first.access_token() == first.access_token()
    second.access_token()

    forms = _token_requests(seen)
    assert len(forms) == 2, "the first client must reuse its cached token"
    jtis = {_jwt_part(form["client_assertion"][0], 1)["jti"] for form in forms}
    assert len(jtis) == 2
    assert all(form["grant_type"] == ["client_credentials"] for form in forms)
