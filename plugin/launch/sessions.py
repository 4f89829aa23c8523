# SPDX-License-Identifier: Apache-2.0
"""The browser session cookie, usable inside a cross-site EHR iframe.

The cookie is ``__Host-quietline``: ``Secure; HttpOnly; SameSite=None; Partitioned; Path=/``.
``Partitioned`` (CHIPS) keys it to the top-level EHR site, so it still works when the browser
blocks third-party cookies and it is never shared with Quietline opened under another EHR.

Only the server issues session ids: the value is ``<id>.<mac>``, a random id and an HMAC-SHA256
of it under a key derived from ``PLUGIN_SECRET_KEY``.  A value the client invents (or one signed
under another secret) is ignored and replaced by a fresh one, so it can never become a browser
binding.  The database stores SHA-256 of the cookie value only.  Which launch a page belongs
to is carried by a per-launch handle in the URL path, which is useless without the cookie.
See docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import Response
from flask import current_app
from flask import g
from flask import request

from ..crypto import lookup_hash

__all__ = [
    "COOKIE_NAME",
    "browser_binding",
    "ensure_browser_binding",
    "set_cookie_if_new",
    "signed_session_id",
]

COOKIE_NAME = "__Host-quietline"
_MAX_LENGTH = 120
_PURPOSE = b"quietline browser session id v1"


def _mac(secret: bytes, session_id: str) -> str:
    key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(key, session_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def signed_session_id(secret: bytes, session_id: str) -> str:
    """The cookie value for ``session_id``: ``<id>.<HMAC of id>``."""
    return f"{session_id}.{_mac(secret, session_id)}"


def _verified_id(secret: bytes, value: str | None) -> str | None:
    """The session id inside a cookie value this server issued, else ``None``."""
    if not value or len(value) > _MAX_LENGTH or not value.isascii():
        return None
    session_id, dot, mac = value.rpartition(".")
    if not dot or not session_id:
        return None
    if not hmac.compare_digest(mac.encode("ascii"), _mac(secret, session_id).encode("ascii")):
        return None
    return session_id


def _secret() -> bytes:
    return bytes(current_app.config["PLUGIN_SECRET_KEY"])


def browser_binding() -> str | None:
    """SHA-256 of this browser's session id, or ``None`` when it has no valid one."""
    value = getattr(g, "new_browser_session", None) or request.cookies.get(COOKIE_NAME)
    if value is None or _verified_id(_secret(), value) is None:
        return None
    return lookup_hash(value)


def ensure_browser_binding() -> str:
    """Return the binding, issuing a new signed session id when there is no valid one."""
    binding = browser_binding()
    if binding is not None:
        return binding
    g.new_browser_session = signed_session_id(_secret(), secrets.token_urlsafe(32))
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
