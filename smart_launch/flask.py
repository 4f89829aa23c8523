# SPDX-License-Identifier: Apache-2.0
"""Flask adapter: the only module of :mod:`smart_launch` that imports Flask.

:func:`init_server_timing` reports each request's own server time apart from the time spent
waiting on the EHR, as a ``Server-Timing`` header (W3C Server Timing):
``Server-Timing: app;dur=1.9, ehr;dur=12.4``.
"""

from __future__ import annotations

import time

from flask import Flask
from flask import Response
from flask import g

from .http import stop_upstream_timer
from .http import upstream_timer

__all__ = ["init_server_timing"]


def init_server_timing(app: Flask) -> None:
    """Register hooks that add ``Server-Timing`` to every response."""

    @app.before_request
    def _start() -> None:
        g.smart_started = time.perf_counter()
        g.smart_upstream = upstream_timer()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = getattr(g, "smart_started", None)
        timer = getattr(g, "smart_upstream", None)
        if started is None or timer is None:
            return response
        total = time.perf_counter() - started
        own = max(total - timer.seconds, 0.0)
        response.headers["Server-Timing"] = (
            f'app;dur={own * 1000:.2f}, ehr;dur={timer.seconds * 1000:.2f};desc="{timer.calls}"'
        )
        return response

    @app.teardown_request
    def _stop(_exc: BaseException | None) -> None:
        stop_upstream_timer()
