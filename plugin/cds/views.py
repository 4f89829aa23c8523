# SPDX-License-Identifier: Apache-2.0
"""The CDS Hooks endpoints.  The caller is the EHR's server, not a browser: every answer,
errors included, is JSON, and there is no session cookie or CSRF token (the EHR's signed JWT
authenticates each call)."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge

from ..handlers import is_input_error
from ..handlers import where
from ..registry import get_service
from .errors import CdsError
from .errors import InvalidRequest
from .errors import UnknownService
from .services import SERVICE_ID
from .services import CdsService

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("cds", __name__, url_prefix="/cds-services")


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status=status,
        mimetype="application/json",
    )


def _body() -> bytes:
    """The raw body, refused before any parsing when it is not JSON-typed or too large.

    Werkzeug refuses a body over ``MAX_CONTENT_LENGTH`` as it reads it; the length is checked
    again here so that nothing over the limit reaches the parser, whichever server delivered it.
    """
    if request.mimetype != "application/json":
        raise InvalidRequest("Send the request body as application/json.")
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    data = request.get_data(cache=False)
    if limit is not None and len(data) > limit:
        raise RequestEntityTooLarge
    return data


@bp.get("")
def discovery() -> Response:
    return _json(get_service(CdsService).discovery(request.headers.get("Authorization")))


@bp.post("/<service_id>")
def call(service_id: str) -> Response:
    if service_id != SERVICE_ID:
        raise UnknownService
    cds = get_service(CdsService)
    return _json(cds.appointment_book(request.headers.get("Authorization"), _body()))


@bp.post("/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    if service_id != SERVICE_ID:
        raise UnknownService
    get_service(CdsService).feedback(request.headers.get("Authorization"), _body())
    return _json({})


@bp.errorhandler(CdsError)
def _cds_error(exc: CdsError) -> Response:
    log.info("cds request refused: %s", exc.error)
    response = _json(exc.to_json(), exc.status_code)
    if exc.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = {413: "The request body is larger than Quietline accepts."}.get(
        status, exc.description or "The request could not be handled."
    )
    return _json({"error": f"http_{status}", "message": message}, status)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    if is_input_error(exc):
        log.info("cds request input refused: %s at %s", type(exc).__name__, where(exc))
        return _json(InvalidRequest().to_json(), 400)
    log.error("cds request failed: %s at %s", type(exc).__name__, where(exc))
    return _json(
        {"error": "internal_error", "message": "Quietline hit an unexpected problem."}, 500
    )
