# SPDX-License-Identifier: Apache-2.0
"""The partitioned ``__Host-`` browser cookie: set once, with every attribute the iframe needs."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.config import Settings
from plugin.crypto import lookup_hash
from plugin.launch.sessions import COOKIE_NAME
from plugin.launch.sessions import browser_binding
from plugin.launch.sessions import ensure_browser_binding
from plugin.launch.sessions import signed_session_id
from tests.unit.plugin.launch.support import STANDALONE
from tests.unit.plugin.launch.support import register_kept


@pytest.fixture(autouse=True)
def _standalone_page(flask_app: Flask) -> None:
    """A page that needs a browser session: a registered tenant's standalone sign-in."""
    register_kept(flask_app)


def _set_cookies(response) -> list[str]:
    return [value for key, value in response.headers.items() if key.lower() == "set-cookie"]


def _attributes(header: str) -> tuple[str, str, dict[str, str | None]]:
    first, *rest = (part.strip() for part in header.split(";"))
    name, _, value = first.partition("=")
    attrs: dict[str, str | None] = {}
    for part in rest:
        key, sep, val = part.partition("=")
        attrs[key.lower()] = val if sep else None
    return name, value, attrs


def test_first_response_sets_the_partitioned_host_cookie(
    client: FlaskClient, settings: Settings
) -> None:
    response = client.get(STANDALONE)

    (header,) = _set_cookies(response)
    name, value, attrs = _attributes(header)
    assert name == COOKIE_NAME == "__Host-quietline"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", value)
    assert "secure" in attrs
    assert "httponly" in attrs
    assert attrs["samesite"] == "None"
    assert "partitioned" in attrs
    assert attrs["path"] == "/"
    assert "domain" not in attrs
    assert attrs["max-age"] == str(settings.session_absolute_seconds)


def test_cookie_is_not_set_again_when_the_browser_has_it(client: FlaskClient) -> None:
    first = client.get(STANDALONE)
    assert _set_cookies(first)

    second = client.get(STANDALONE)
    third = client.get("/healthz")

    assert _set_cookies(second) == []
    assert _set_cookies(third) == []


def test_each_browser_gets_its_own_id(flask_app: Flask) -> None:
    one = _attributes(_set_cookies(flask_app.test_client().get(STANDALONE))[0])[1]
    two = _attributes(_set_cookies(flask_app.test_client().get(STANDALONE))[0])[1]

    assert one != two


def test_pages_that_need_no_session_set_no_cookie(client: FlaskClient) -> None:
    assert _set_cookies(client.get("/healthz")) == []
    assert _set_cookies(client.get("/no-such-page")) == []


def test_oversized_cookie_is_ignored_and_replaced(client: FlaskClient) -> None:
    oversized = "x" * 101
    client.set_cookie(COOKIE_NAME, oversized)

    response = client.get(STANDALONE)

    (header,) = _set_cookies(response)
    _, value, _ = _attributes(header)
    assert value != oversized
    assert len(value) <= 120


def test_binding_is_the_hash_of_the_signed_session_id(flask_app: Flask) -> None:
    value = signed_session_id(flask_app.config["PLUGIN_SECRET_KEY"], "abc")
    with flask_app.test_request_context(headers={"Cookie": f"{COOKIE_NAME}={value}"}):
        assert browser_binding() == lookup_hash(value)
        assert ensure_browser_binding() == lookup_hash(value)

    with flask_app.test_request_context(headers={"Cookie": f"{COOKIE_NAME}={'y' * 101}"}):
        assert browser_binding() is None

    with flask_app.test_request_context():
        assert browser_binding() is None
        created = ensure_browser_binding()
        assert browser_binding() == created
        assert ensure_browser_binding() == created


def test_an_invented_cookie_value_never_becomes_a_binding(flask_app: Flask) -> None:
    invented = "abc"
    forged = signed_session_id(b"another secret entirely", "abc")
    tampered = signed_session_id(flask_app.config["PLUGIN_SECRET_KEY"], "abc")[:-2] + "xx"
    for value in (invented, forged, tampered, "abc.", ".abc"):
        with flask_app.test_request_context(headers={"Cookie": f"{COOKIE_NAME}={value}"}):
            assert browser_binding() is None
            created = ensure_browser_binding()
            assert created != lookup_hash(value)
            assert created != lookup_hash(
                signed_session_id(flask_app.config["PLUGIN_SECRET_KEY"], "abc")
            )
            assert browser_binding() == created


def test_an_invented_cookie_is_replaced_by_a_server_issued_one(client: FlaskClient) -> None:
    client.set_cookie(COOKIE_NAME, "chosen-by-the-client")

    response = client.get(STANDALONE)

    (header,) = _set_cookies(response)
    _, value, _ = _attributes(header)
    assert value != "chosen-by-the-client"
    session_id, _, mac = value.partition(".")
    assert session_id != "chosen-by-the-client"
    assert len(mac) == 43
