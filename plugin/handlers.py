# SPDX-License-Identifier: Apache-2.0
"""One place that turns errors into pages: a clear message, a relaunch prompt, no stack trace."""

from __future__ import annotations

import logging

from flask import Flask
from flask import render_template
from werkzeug.exceptions import HTTPException

from smart_launch.errors import SmartLaunchError

from .errors import PluginError

__all__ = ["init_app"]

log = logging.getLogger(__name__)

_TITLES = {
    400: "This request could not be used",
    401: "Please open Quietline again",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "The record changed",
    413: "Too much data",
    500: "Something went wrong",
    502: "The EHR could not complete this",
    503: "The EHR is not responding",
}


def _page(status: int, error: str, description: str, *, relaunch: bool) -> tuple[str, int]:
    title = _TITLES.get(status, "Something went wrong")
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
            404: "There is no page here.",
            405: "This page does not accept that kind of request.",
            413: "The form was larger than Quietline accepts. Nothing was saved.",
        }.get(status, "The request could not be handled.")
        body, status = _page(status, f"http_{status}", description, relaunch=False)
        allow = dict(item for item in exc.get_headers() if item[0].lower() == "allow")
        return body, status, allow

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        log.error("unhandled error: %s", type(exc).__name__)
        return _page(
            500,
            "internal_error",
            "Quietline hit an unexpected problem. Nothing was sent to the EHR.",
            relaunch=False,
        )
