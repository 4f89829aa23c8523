# SPDX-License-Identifier: Apache-2.0
"""The sandbox's form tokens: one random token per browser session, compared in constant time."""

from __future__ import annotations

import hmac
import secrets

from flask import request
from flask import session

__all__ = ["csrf_ok", "csrf_token"]


def csrf_token() -> str:
    """The session's form token, created on first use."""
    token = session.get("csrf_token")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session["csrf_token"] = token
    return token


def csrf_ok() -> bool:
    """Whether the posted ``csrf_token`` matches the session's."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf_token")
    return isinstance(expected, str) and hmac.compare_digest(sent, expected)
