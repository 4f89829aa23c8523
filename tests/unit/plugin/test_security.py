# SPDX-License-Identifier: Apache-2.0
"""CSRF tokens bound to the browser and the form; security headers on every response."""

from __future__ import annotations

import os
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.crypto import lookup_hash
from plugin.launch.sessions import COOKIE_NAME
from plugin.registry import get_service
from plugin.security import CsrfError
from plugin.security import csrf_token
from plugin.security import verify_csrf
from plugin.tenants.services import SqlTenantRepository
from tests.unit.plugin.support import registration

SECRET = os.urandom(32)
BINDING = "a" * 64


def _directives(csp: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_csrf_token_verifies_for_its_binding_and_purpose() -> None:
    token = csrf_token(SECRET, BINDING, "standalone")

    verify_csrf(SECRET, BINDING, "standalone", token)
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert token == csrf_token(SECRET, BINDING, "standalone")


@pytest.mark.parametrize(
    ("secret", "binding", "purpose", "token"),
    [
        (SECRET, BINDING, "end", csrf_token(SECRET, BINDING, "standalone")),
        (SECRET, "b" * 64, "standalone", csrf_token(SECRET, BINDING, "standalone")),
        (os.urandom(32), BINDING, "standalone", csrf_token(SECRET, BINDING, "standalone")),
        (SECRET, BINDING, "standalone", None),
        (SECRET, BINDING, "standalone", ""),
        (SECRET, None, "standalone", csrf_token(SECRET, BINDING, "standalone")),
        (SECRET, "", "standalone", csrf_token(SECRET, "", "standalone")),
        (SECRET, BINDING, "standalone", csrf_token(SECRET, BINDING, "standalone").upper()),
        (SECRET, BINDING, "standalone", csrf_token(SECRET, BINDING, "standalone")[:-1] + "\u00e9"),
    ],
    ids=[
        "other-purpose",
        "other-binding",
        "other-secret",
        "missing",
        "empty",
        "no-binding",
        "empty-binding",
        "altered",
        "not-ascii",
    ],
)
def test_verify_csrf_refuses(
    secret: bytes, binding: str | None, purpose: str, token: str | None
) -> None:
    with pytest.raises(CsrfError) as caught:
        verify_csrf(secret, binding, purpose, token)
    assert caught.value.status_code == 400


def test_page_headers_without_tenants(client: FlaskClient) -> None:
    response = client.get("/standalone")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_frame_ancestors_lists_every_registered_tenant_outside_a_launch(
    flask_app: Flask, client: FlaskClient
) -> None:
    tenants = get_service(SqlTenantRepository, flask_app)
    tenants.register(registration(frame_origins=("https://ehr-a.example",)))
    tenants.register(
        registration(
            id="other",
            iss="https://ehr-b.example/fhir",
            frame_origins=("https://ehr-b.example", "https://portal.ehr-b.example"),
        )
    )

    # The standalone form would start discovery for each tenant; a 404 page and a JSON
    # response show the same outside-a-launch policy without outbound requests.
    for response in (client.get("/no-such-page"), client.get("/healthz")):
        csp = _directives(response.headers["Content-Security-Policy"])
        assert csp["frame-ancestors"] == [
            "https://ehr-a.example",
            "https://ehr-b.example",
            "https://portal.ehr-b.example",
        ]
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_json_responses_are_not_cached_either(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers


def test_public_jwks_keeps_its_own_cache_header(client: FlaskClient) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_standalone_post_without_the_form_token_is_refused(client: FlaskClient) -> None:
    client.get("/standalone")

    response = client.post("/standalone", data={"tenant": "ehr"})

    assert response.status_code == 400
    assert 'data-error="csrf_failed"' in response.text


def test_standalone_post_with_another_browsers_token_is_refused(
    flask_app: Flask, client: FlaskClient
) -> None:
    other = flask_app.test_client()
    other.get("/standalone")
    cookie = other.get_cookie(COOKIE_NAME)
    assert cookie is not None
    # What the form rendered for the other browser holds (no tenant is registered, so the
    # page shows no form and makes no discovery request).
    token = csrf_token(
        flask_app.config["PLUGIN_SECRET_KEY"], lookup_hash(cookie.value), "standalone"
    )

    client.get("/standalone")
    refused = client.post("/standalone", data={"tenant": "ehr", "csrf": token})
    accepted = other.post("/standalone", data={"tenant": "ehr", "csrf": token})

    assert refused.status_code == 400
    assert 'data-error="csrf_failed"' in refused.text
    # The owner's token passes the CSRF check and reaches the tenant lookup.
    assert 'data-error="issuer_not_allowed"' in accepted.text
