# SPDX-License-Identifier: Apache-2.0
"""Every error becomes an HTML page with the right status, a ``data-error`` code and no trace."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from plugin import security
from plugin.app import create_app
from plugin.config import Settings
from plugin.errors import Forbidden
from plugin.errors import PluginError
from plugin.errors import SessionExpired
from plugin.registry import get_service
from plugin.store import Database
from smart_launch.errors import AuthorizationDenied
from smart_launch.errors import StateError
from smart_launch.errors import UpstreamUnavailable

LEAK = "internal-detail-4711"
TRACE_MARKERS = ("Traceback", 'File "', "RuntimeError", "ZeroDivisionError", LEAK, "werkzeug")


class _TeapotError(PluginError):
    error = "teapot"
    description = "Short and stout."
    status_code = 418


def _boom_blueprint() -> Blueprint:
    bp = Blueprint("boom", __name__)

    @bp.get("/boom/state")
    def state() -> str:
        raise StateError

    @bp.get("/boom/denied")
    def denied() -> str:
        raise AuthorizationDenied

    @bp.get("/boom/upstream")
    def upstream() -> str:
        raise UpstreamUnavailable

    @bp.get("/boom/expired")
    def expired() -> str:
        raise SessionExpired

    @bp.get("/boom/forbidden")
    def forbidden() -> str:
        raise Forbidden

    @bp.get("/boom/teapot")
    def teapot() -> str:
        raise _TeapotError

    @bp.get("/boom/runtime")
    def runtime() -> str:
        raise RuntimeError(LEAK)

    @bp.get("/boom/division")
    def division() -> str:
        return str(1 // int(request.args.get("zero", "0")))

    @bp.post("/boom/form")
    def form() -> str:
        return str(len(request.form))

    return bp


def _input_blueprint() -> Blueprint:
    """Endpoints that decode request data, and bugs that raise the same exception types."""
    bp = Blueprint("boom_input", __name__)

    @bp.post("/boom/json")
    def json_body() -> str:
        return str(type(request.get_json()).__name__)

    @bp.get("/boom/recursion")
    def recursion() -> str:
        return str(_recurse(int(request.args.get("depth", "0"))))

    @bp.get("/boom/decode")
    def decode() -> str:
        return b"\xff".decode()

    return bp


def _recurse(depth: int) -> int:
    return _recurse(depth + 1)


_TEST_POSTS = frozenset({"boom.form", "boom_input.json_body"})


@pytest.fixture
def boom_client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    # The test-only POST routes post bodies without a form token, as the public endpoints that
    # authenticate otherwise do.
    monkeypatch.setattr(security, "CSRF_EXEMPT", security.CSRF_EXEMPT | _TEST_POSTS)
    app: Flask = create_app(settings)
    app.register_blueprint(_boom_blueprint())
    app.register_blueprint(_input_blueprint())
    yield app.test_client()
    get_service(Database, app).dispose()


def _error_code(html: str) -> str:
    match = re.search(r'data-error="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


def _assert_error_page(response: TestResponse, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert _error_code(response.text) == code
    for marker in TRACE_MARKERS:
        assert marker not in response.text
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "status", "code", "relaunch"),
    [
        ("/boom/state", 400, "invalid_state", True),
        ("/boom/denied", 403, "access_denied", True),
        ("/boom/upstream", 503, "upstream_unavailable", False),
        ("/boom/expired", 401, "session_expired", True),
        ("/boom/forbidden", 403, "forbidden", False),
        ("/boom/teapot", 418, "teapot", False),
    ],
)
def test_domain_errors_become_pages(
    boom_client: FlaskClient, path: str, status: int, code: str, relaunch: bool
) -> None:
    response = boom_client.get(path)

    _assert_error_page(response, status, code)
    assert ('class="relaunch"' in response.text) is relaunch


def test_smart_launch_error_shows_its_description(boom_client: FlaskClient) -> None:
    response = boom_client.get("/boom/state")

    assert "This sign-in link is not valid any more." in response.text
    assert "<h1>This request could not be used</h1>" in response.text


def test_unknown_page_is_404(boom_client: FlaskClient) -> None:
    response = boom_client.get("/no/such/page")

    _assert_error_page(response, 404, "http_404")
    assert "There is no page here." in response.text


def test_wrong_method_is_405(boom_client: FlaskClient) -> None:
    response = boom_client.post("/healthz")

    _assert_error_page(response, 405, "http_405")


def test_405_page_keeps_the_allow_header(boom_client: FlaskClient) -> None:
    # RFC 9110 section 15.5.6: a 405 response MUST carry Allow.
    response = boom_client.delete("/healthz")

    assert response.status_code == 405
    assert set(response.headers.get("Allow", "").replace(" ", "").split(",")) >= {"GET"}


def test_body_over_the_limit_is_413(boom_client: FlaskClient, settings: Settings) -> None:
    response = boom_client.post(
        "/boom/form", data={"field": "x" * (settings.max_content_length + 1)}
    )

    _assert_error_page(response, 413, "http_413")
    assert "Nothing was saved." in response.text


def test_body_within_the_limit_is_accepted(boom_client: FlaskClient) -> None:
    response = boom_client.post("/boom/form", data={"field": "x" * 100})

    assert response.status_code == 200
    assert response.text == "1"


def test_oversized_standalone_form_is_413(boom_client: FlaskClient, settings: Settings) -> None:
    response = boom_client.post(
        "/standalone", data={"csrf": "x" * (settings.max_content_length + 1)}
    )

    _assert_error_page(response, 413, "http_413")


@pytest.mark.parametrize("path", ["/boom/runtime", "/boom/division"])
def test_unexpected_exception_is_a_500_page_without_a_trace(
    boom_client: FlaskClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO)

    response = boom_client.get(path)

    _assert_error_page(response, 500, "internal_error")
    assert "Nothing was sent to the EHR." in response.text
    assert 'class="relaunch"' not in response.text
    assert any("unhandled error" in record.getMessage() for record in caplog.records)
    assert LEAK not in caplog.text


def test_error_pages_carry_the_security_headers(boom_client: FlaskClient) -> None:
    response = boom_client.get("/boom/runtime")

    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_deeply_nested_json_is_a_400_page_not_a_500(
    boom_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    response = boom_client.post(
        "/boom/json", data=b"[" * 2000 + b"]" * 2000, content_type="application/json"
    )

    _assert_error_page(response, 400, "invalid_input")
    assert "could not read this request" in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_json_that_is_not_utf8_is_a_400_page(boom_client: FlaskClient) -> None:
    response = boom_client.post(
        "/boom/json", data=b'{"a": "\xff"}', content_type="application/json"
    )

    _assert_error_page(response, 400, "http_400")
    assert "could not read this request" in response.text


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff", "multipart/form-data; boundary=x"),
        (b"--x\r\n" * 50, 'multipart/form-data; boundary="x"'),
        (b"a=%ff&b=\xfe&%00=%00", "application/x-www-form-urlencoded"),
        (b"a=1", "application/x-www-form-urlencoded; charset=no-such-charset"),
    ],
)
def test_undecodable_forms_are_read_as_far_as_they_go(
    boom_client: FlaskClient, data: bytes, content_type: str
) -> None:
    response = boom_client.post("/boom/form", data=data, content_type=content_type)

    assert response.status_code == 200
    assert response.text.isdigit()


@pytest.mark.parametrize("path", ["/boom/recursion", "/boom/decode"])
def test_the_same_exception_types_from_a_bug_are_still_500(
    boom_client: FlaskClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO)

    response = boom_client.get(path)

    _assert_error_page(response, 500, "internal_error")
    assert any("unhandled error" in record.getMessage() for record in caplog.records)
