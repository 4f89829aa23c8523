# SPDX-License-Identifier: Apache-2.0
"""Response headers (CSP with ``frame-ancestors``, no-store, no referrer) and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from collections.abc import Iterable

from flask import Flask
from flask import Response
from flask import g

from .errors import PluginError

__all__ = ["CsrfError", "csrf_token", "init_app", "verify_csrf"]


class CsrfError(PluginError):
    error = "csrf_failed"
    description = "This form expired or did not come from Quietline. Please try again."
    status_code = 400


def csrf_token(secret: bytes, binding: str, purpose: str) -> str:
    """A token bound to the browser session and the form's purpose."""
    message = f"{binding}:{purpose}".encode()
    return hmac.new(secret, b"csrf:" + message, hashlib.sha256).hexdigest()


def verify_csrf(secret: bytes, binding: str | None, purpose: str, token: str | None) -> None:
    """:raises CsrfError: when the token is missing or does not match."""
    if not binding or not token or not token.isascii():
        raise CsrfError  # compare_digest refuses non-ASCII str with a TypeError
    if not hmac.compare_digest(csrf_token(secret, binding, purpose), token):
        raise CsrfError


def _csp(frame_ancestors: Iterable[str], form_targets: Iterable[str]) -> str:
    ancestors = " ".join(sorted(set(frame_ancestors))) or "'none'"
    targets = " ".join(["'self'", *sorted(set(form_targets))])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action {targets}; frame-ancestors {ancestors}"
    )


def init_app(app: Flask, frame_origins: Callable[[], Iterable[str]]) -> None:
    """Add security headers to every response.

    ``frame-ancestors`` lists the launching tenant's EHR origins when a view set
    ``g.frame_origins``; otherwise every registered tenant's (error pages must still render
    inside the EHR's iframe).
    """

    @app.after_request
    def _headers(response: Response) -> Response:
        origins = getattr(g, "frame_origins", None)
        if origins is None:
            origins = frame_origins()
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
