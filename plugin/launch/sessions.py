# SPDX-License-Identifier: Apache-2.0
"""The browser session cookie, usable inside a cross-site EHR iframe.

The cookie is ``__Host-quietline``: ``Secure; HttpOnly; SameSite=None; Partitioned; Path=/``.
``Partitioned`` (CHIPS) keys it to the top-level EHR site, so it still works when the browser
blocks third-party cookies and it is never shared with Quietline opened under another EHR.  The
cookie holds only a random id; the database stores its SHA-256.  Which launch a page belongs to
is carried by a per-launch handle in the URL path, which is useless without the cookie.
See docs/security.md.
"""

from __future__ import annotations

import secrets

from flask import Response
from flask import g
from flask import request

from ..crypto import lookup_hash

__all__ = ["COOKIE_NAME", "browser_binding", "ensure_browser_binding", "set_cookie_if_new"]

COOKIE_NAME = "__Host-quietline"


def browser_binding() -> str | None:
    """SHA-256 of this browser's session id, or ``None`` when it has none."""
    value = getattr(g, "new_browser_session", None) or request.cookies.get(COOKIE_NAME)
    if not value or len(value) > 100:
        return None
    return lookup_hash(value)


def ensure_browser_binding() -> str:
    """Return the binding, creating a new browser session id when there is none."""
    binding = browser_binding()
    if binding is not None:
        return binding
    g.new_browser_session = secrets.token_urlsafe(32)
    return lookup_hash(g.new_browser_session)


def set_cookie_if_new(response: Response, max_age: int) -> Response:
    value = getattr(g, "new_browser_session", None)
    if value:
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=max_age,
            path="/",
            secure=True,
            httponly=True,
            samesite="None",
            partitioned=True,
        )
    return response
