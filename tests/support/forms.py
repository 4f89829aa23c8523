# SPDX-License-Identifier: Apache-2.0
"""Reading forms out of pages, as a browser would submit them."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

from plugin.crypto import lookup_hash
from plugin.launch.sessions import COOKIE_NAME
from plugin.security import sign_csrf

_INPUT = re.compile(r"<input\b[^>]*>", re.DOTALL)
_ATTR = re.compile(r'(\w[\w:-]*)="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """Every ``<input type="hidden">`` name and value on the page."""
    fields: dict[str, str] = {}
    for tag in _INPUT.findall(page):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(tag)}
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def csrf(page: str) -> str:
    token = hidden_fields(page).get("csrf")
    assert token, "page has no CSRF token"
    return token


def textarea(page: str, element_id: str) -> str:
    match = re.search(rf'<textarea[^>]*id="{element_id}"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert match is not None, f"no textarea #{element_id}"
    return html.unescape(match.group(1))


def finding_ids(page: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'name="keep:([^"]+)"', page)]


def csrf_for(client: FlaskClient) -> str:
    """The form token any page would carry for the browser ``client`` (its session cookie must
    be set), for requests that need a valid token without a page that shows one."""
    cookie = client.get_cookie(COOKIE_NAME)
    assert cookie is not None, "the browser has no session cookie"
    return sign_csrf(client.application.config["PLUGIN_SECRET_KEY"], lookup_hash(cookie.value))
