# SPDX-License-Identifier: Apache-2.0
"""CSRF tokens bound to the browser, checked before every state-changing request; security
headers on every response, with ``frame-ancestors`` per page."""

from __future__ import annotations

import os
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from plugin.crypto import lookup_hash
from plugin.launch.sessions import COOKIE_NAME
from plugin.launch.sessions import signed_session_id
from plugin.registry import get_service
from plugin.security import CsrfError
from plugin.security import sign_csrf
from plugin.security import verify_csrf
from plugin.tenants.interfaces import TenantRepository
from tests.unit.plugin.support import registration

SECRET = os.urandom(32)
BINDING = "a" * 64
SILENT_ISS = "http://127.0.0.1:9/fhir"
"""An issuer nothing answers at (the discard port), so a launch stops at discovery."""
EVERY_TENANT = ["https://ehr-a.example", "https://ehr-b.example", "https://portal.ehr-b.example"]


def _directives(csp: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_csrf_token_verifies_for_its_binding_and_purpose() -> None:
    token = sign_csrf(SECRET, BINDING, "standalone")

    verify_csrf(SECRET, BINDING, "standalone", token)
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert token == sign_csrf(SECRET, BINDING, "standalone")


def test_one_purpose_serves_every_form() -> None:
    verify_csrf(SECRET, BINDING, "form", sign_csrf(SECRET, BINDING))


@pytest.mark.parametrize(
    ("secret", "binding", "purpose", "token"),
    [
        (SECRET, BINDING, "end", sign_csrf(SECRET, BINDING, "standalone")),
        (SECRET, "b" * 64, "standalone", sign_csrf(SECRET, BINDING, "standalone")),
        (os.urandom(32), BINDING, "standalone", sign_csrf(SECRET, BINDING, "standalone")),
        (SECRET, BINDING, "standalone", None),
        (SECRET, BINDING, "standalone", ""),
        (SECRET, None, "standalone", sign_csrf(SECRET, BINDING, "standalone")),
        (SECRET, "", "standalone", sign_csrf(SECRET, "", "standalone")),
        (SECRET, BINDING, "standalone", sign_csrf(SECRET, BINDING, "standalone").upper()),
        (SECRET, BINDING, "standalone", sign_csrf(SECRET, BINDING, "standalone")[:-1] + "\u00e9"),
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


def _two_tenants(flask_app: Flask) -> None:
    tenants = get_service(TenantRepository, flask_app)
    tenants.register(registration(iss=SILENT_ISS, frame_origins=("https://ehr-a.example",)))
    tenants.register(
        registration(
            id="other",
            iss="https://ehr-b.example/fhir",
            frame_origins=("https://ehr-b.example", "https://portal.ehr-b.example"),
        )
    )


def _ancestors(response: TestResponse) -> list[str]:
    return _directives(response.headers["Content-Security-Policy"])["frame-ancestors"]


@pytest.mark.parametrize(
    "path", ["/", "/standalone", "/no-such-page", "/healthz", "/.well-known/jwks.json", "/ended"]
)
def test_public_pages_cannot_be_framed(flask_app: Flask, client: FlaskClient, path: str) -> None:
    _two_tenants(flask_app)

    response = client.get(path)

    assert _ancestors(response) == ["'none'"]


def test_the_ehr_launch_is_framed_by_the_tenant_its_issuer_names(
    flask_app: Flask, client: FlaskClient
) -> None:
    _two_tenants(flask_app)

    response = client.get("/launch", query_string={"iss": SILENT_ISS, "launch": "x"})

    assert response.status_code >= 400
    assert _ancestors(response) == ["https://ehr-a.example"]


def test_a_launch_from_an_unknown_issuer_cannot_be_framed(
    flask_app: Flask, client: FlaskClient
) -> None:
    _two_tenants(flask_app)

    response = client.get(
        "/launch", query_string={"iss": "https://evil.example/fhir", "launch": "x"}
    )

    assert 'data-error="issuer_not_allowed"' in response.text
    assert _ancestors(response) == ["'none'"]


@pytest.mark.parametrize("path", ["/callback?state=unknown&code=x", "/l/no-such-launch/"])
def test_callback_and_relaunch_prompt_are_framed_by_every_tenant(
    flask_app: Flask, client: FlaskClient, path: str
) -> None:
    _two_tenants(flask_app)

    response = client.get(path)

    assert response.status_code in {400, 401}
    assert _ancestors(response) == EVERY_TENANT


def test_unknown_routes_and_methods_are_not_csrf_failures(client: FlaskClient) -> None:
    missing = client.post("/no-such-page")
    not_allowed = client.post("/healthz")

    assert missing.status_code == 404
    assert not_allowed.status_code == 405


def test_json_responses_are_not_cached_either(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers


def test_public_jwks_keeps_its_own_cache_header(client: FlaskClient) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def _browser(flask_app: Flask, name: str) -> tuple[FlaskClient, str]:
    """A test browser holding a session cookie this server issued, and its form token."""
    secret = flask_app.config["PLUGIN_SECRET_KEY"]
    browser = flask_app.test_client()
    value = signed_session_id(secret, name)
    browser.set_cookie(COOKIE_NAME, value)
    return browser, sign_csrf(secret, lookup_hash(value))


def test_standalone_post_without_the_form_token_is_refused(flask_app: Flask) -> None:
    browser, _ = _browser(flask_app, "first-browser")

    response = browser.post("/standalone/ehr")

    assert response.status_code == 400
    assert 'data-error="csrf_failed"' in response.text


def test_standalone_post_with_another_browsers_token_is_refused(flask_app: Flask) -> None:
    owner, token = _browser(flask_app, "owner-browser")
    other, _ = _browser(flask_app, "other-browser")

    refused = other.post("/standalone/ehr", data={"csrf": token})
    accepted = owner.post("/standalone/ehr", data={"csrf": token})

    assert refused.status_code == 400
    assert 'data-error="csrf_failed"' in refused.text
    # The owner's token passes the CSRF check and reaches the tenant lookup (none is registered).
    assert accepted.status_code == 404
    assert 'data-error="csrf_failed"' not in accepted.text
