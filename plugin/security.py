# SPDX-License-Identifier: Apache-2.0
"""Response headers (CSP with ``frame-ancestors``, no-store, no referrer) and CSRF, enforced in
one place.

Every state-changing request (POST, PUT, PATCH, DELETE) must carry the form token in the
``csrf`` field unless its endpoint is in :data:`CSRF_EXEMPT`.  The token is an HMAC over the
browser binding (the session cookie) and one purpose, so any page's form can use the Jinja
global ``csrf_token()``.  See docs/security.md, "CSRF" and "Public routes".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from collections.abc import Iterable

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request

from smart_launch.errors import IssuerNotAllowed

from .errors import PluginError
from .registry import get_service
from .tenants.interfaces import TenantRepository

__all__ = [
    "CSRF_EXEMPT",
    "CSRF_FIELD",
    "FRAMED_ENTRY_POINTS",
    "CsrfError",
    "csrf_token",
    "init_app",
    "sign_csrf",
    "verify_csrf",
]

CSRF_FIELD = "csrf"
"""The form field every state-changing request carries its token in."""

CSRF_PURPOSE = "form"
"""The one purpose every Quietline form's token is bound to."""

CSRF_EXEMPT: frozenset[str] = frozenset({"cds.call", "cds.feedback"})
"""Endpoints that change state without a form token.  Each authenticates otherwise: the CDS
Hooks service and its feedback endpoint take the EHR's signed JWT and never a cookie."""

FRAMED_ENTRY_POINTS: frozenset[str] = frozenset({"launch.ehr_launch", "launch.callback"})
"""Pages outside a launch that the EHR's iframe opens (all others send
``frame-ancestors 'none'``)."""

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfError(PluginError):
    error = "csrf_failed"
    description = "This form expired or did not come from Quietline. Please try again."
    status_code = 400


def sign_csrf(secret: bytes, binding: str, purpose: str = CSRF_PURPOSE) -> str:
    """A token bound to the browser session and a purpose."""
    message = f"{binding}:{purpose}".encode()
    return hmac.new(secret, b"csrf:" + message, hashlib.sha256).hexdigest()


def verify_csrf(secret: bytes, binding: str | None, purpose: str, token: str | None) -> None:
    """:raises CsrfError: when the token is missing or does not match."""
    if not binding or not token or not token.isascii():
        raise CsrfError  # compare_digest refuses non-ASCII str with a TypeError
    if not hmac.compare_digest(sign_csrf(secret, binding, purpose), token):
        raise CsrfError


def _secret() -> bytes:
    return bytes(current_app.config["PLUGIN_SECRET_KEY"])


def csrf_token() -> str:
    """The form token for this browser (issuing its session cookie if it has none yet).

    Views and templates (the Jinja global ``csrf_token()``) take every form token from here.
    """
    # The launch package's views import this module, so its sessions are imported on use.
    from .launch.sessions import ensure_browser_binding  # noqa: PLC0415

    return sign_csrf(_secret(), ensure_browser_binding())


def _check_csrf() -> None:
    """Refuse a state-changing request without this browser's form token.

    :raises CsrfError: when the token is missing or wrong.
    """
    if request.method not in _UNSAFE_METHODS or request.routing_exception is not None:
        return  # an unknown route or method is answered 404 or 405 as usual
    if request.endpoint in CSRF_EXEMPT:
        return
    from .launch.sessions import browser_binding  # noqa: PLC0415

    verify_csrf(_secret(), browser_binding(), CSRF_PURPOSE, request.form.get(CSRF_FIELD))


def _csp(frame_ancestors: Iterable[str], form_targets: Iterable[str]) -> str:
    ancestors = " ".join(sorted(set(frame_ancestors))) or "'none'"
    targets = " ".join(["'self'", *sorted(set(form_targets))])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action {targets}; frame-ancestors {ancestors}"
    )


def _issuer_origins(iss: str) -> Iterable[str]:
    """The frame origins of the tenant registered for ``iss``; none for an unknown issuer."""
    try:
        return get_service(TenantRepository).by_iss(iss).frame_origins
    except (IssuerNotAllowed, ValueError):
        return ()


def _outside_launch(every_tenant: Callable[[], Iterable[str]]) -> Iterable[str]:
    """``frame-ancestors`` for a response no launch narrowed.

    ``/launch`` may be framed by the tenant its ``iss`` names; ``/callback`` (whose pending
    state is consumed before the page is built) and a ``/l/`` page whose launch could not be
    opened (the relaunch prompt) by any registered tenant; every other page by nobody.
    """
    if request.endpoint == "launch.ehr_launch":
        return _issuer_origins(request.args.get("iss", ""))
    if request.endpoint in FRAMED_ENTRY_POINTS or request.path.startswith("/l/"):
        return every_tenant()
    return ()


def init_app(app: Flask, frame_origins: Callable[[], Iterable[str]]) -> None:
    """Check CSRF before every state-changing request and add security headers to every
    response.

    ``frame-ancestors`` lists the launching tenant's EHR origins when a view set
    ``g.frame_origins``; otherwise see :func:`_outside_launch`.
    """
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.after_request
    def _headers(response: Response) -> Response:
        origins = getattr(g, "frame_origins", None)
        if origins is None:
            origins = _outside_launch(frame_origins)
        targets = getattr(g, "form_targets", ())
        response.headers["Content-Security-Policy"] = _csp(origins, targets)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if "Cache-Control" not in response.headers or response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response
