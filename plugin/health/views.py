# SPDX-License-Identifier: Apache-2.0
"""``/healthz`` (the process answers) and ``/readyz`` (database, signing keys, key provider)."""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import Response
from flask import jsonify
from sqlalchemy.exc import SQLAlchemyError

from smart_launch.keys import ClientKeys

from ..crypto.interfaces import KeyProvider
from ..crypto.interfaces import KeyProviderUnavailable
from ..registry import get_service
from ..store import Database

__all__ = ["bp"]

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks: dict[str, str] = {}
    try:
        checks["database"] = "ok" if get_service(Database).ping() else "failed"
    except SQLAlchemyError as exc:
        log.warning("readiness: database unavailable (%s)", type(exc).__name__)
        checks["database"] = "failed"
    keys = get_service(ClientKeys)
    checks["client_keys"] = "ok" if keys.public_jwks()["keys"] else "failed"
    provider = get_service(KeyProvider)
    try:
        provider.check()
        checks["key_provider"] = "ok"
    except KeyProviderUnavailable as exc:
        log.warning("readiness: key provider unavailable (%s)", exc.error)
        checks["key_provider"] = "failed"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
