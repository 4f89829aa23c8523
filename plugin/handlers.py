# SPDX-License-Identifier: Apache-2.0
"""One place that turns errors into pages: a clear message, a relaunch prompt, no stack trace."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.request import Request

from smart_launch.errors import SmartLaunchError

from .errors import InvalidInput
from .errors import PluginError

__all__ = ["init_app", "is_input_error", "where"]

log = logging.getLogger(__name__)

_TITLES = {
    400: "This request could not be used",
    401: "Please open Quietline again",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "The record changed",
    413: "Too much data",
    429: "Too many attempts",
    500: "Something went wrong",
    502: "The EHR could not complete this",
    503: "The EHR is not responding",
}
_ERROR_TITLES = {"sign_in_busy": "Quietline is busy"}
"""Titles for errors whose status alone would name the wrong cause."""


_INPUT_FAULTS = (RecursionError, ValueError)
"""What decoding a request's data can raise past Werkzeug and Flask (``ValueError`` covers
``UnicodeDecodeError`` and ``JSONDecodeError``): json's ``RecursionError`` from
``Request.get_json`` on deeply nested data, for one."""


def is_input_error(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while the request object decoded its own data.

    Only an exception that passed through a method of the request (``get_json``, ``form``,
    ``get_data``...) counts: the same types raised anywhere else are bugs and stay 500s.
    """
    if not isinstance(exc, _INPUT_FAULTS):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if isinstance(tb.tb_frame.f_locals.get("self"), Request):
            return True
        tb = tb.tb_next
    return False


def where(exc: BaseException) -> str:
    """``file:line`` where ``exc`` was raised, for the log (never its message, which may hold
    data from the request)."""
    tb = exc.__traceback__
    if tb is None:
        return "unknown"
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


def _page(status: int, error: str, description: str, *, relaunch: bool) -> tuple[str, int]:
    title = _ERROR_TITLES.get(error) or _TITLES.get(status, "Something went wrong")
    body = render_template(
        "error.html", title=title, error=error, description=description, relaunch=relaunch
    )
    return body, status


def init_app(app: Flask) -> None:
    @app.errorhandler(SmartLaunchError)
    def _smart(exc: SmartLaunchError) -> tuple[str, int]:
        log.info("launch refused: %s", exc.error)
        relaunch = exc.status_code in {400, 401, 403}
        return _page(exc.status_code, exc.error, exc.description, relaunch=relaunch)

    @app.errorhandler(PluginError)
    def _plugin(exc: PluginError) -> tuple[str, int]:
        log.info("request refused: %s", exc.error)
        return _page(exc.status_code, exc.error, exc.description, relaunch=exc.relaunch)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int, dict[str, str]]:
        status = exc.code or 500
        description = {
            400: InvalidInput.description,
            404: "There is no page here.",
            405: "This page does not accept that kind of request.",
            413: "The form was larger than Quietline accepts. Nothing was saved.",
        }.get(status, "The request could not be handled.")
        body, status = _page(status, f"http_{status}", description, relaunch=False)
        allow = dict(item for item in exc.get_headers() if item[0].lower() == "allow")
        return body, status, allow

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        if is_input_error(exc):
            log.info("request input refused: %s at %s", type(exc).__name__, where(exc))
            refused = InvalidInput()
            return _page(refused.status_code, refused.error, refused.description, relaunch=False)
        log.error(
            "unhandled error: %s at %s in %s", type(exc).__name__, where(exc), request.endpoint
        )
        return _page(
            500,
            "internal_error",
            "Quietline hit an unexpected problem. Nothing was sent to the EHR.",
            relaunch=False,
        )
