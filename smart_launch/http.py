# SPDX-License-Identifier: Apache-2.0
"""The one place outbound HTTP sessions are made.

Every request carries a timeout.  Time spent waiting on the EHR is accumulated in a context
variable so a web adapter can report the app's own server time apart from the EHR's
(``Server-Timing: app;dur=…, ehr;dur=…``).
"""

from __future__ import annotations

import contextvars
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

__all__ = [
    "DEFAULT_TIMEOUT",
    "UpstreamTimer",
    "configure_session",
    "make_session",
    "stop_upstream_timer",
    "upstream_timer",
]

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
"""(connect, read) seconds applied when a caller gives none."""


class UpstreamTimer:
    """Accumulates seconds spent in outbound HTTP during one unit of work."""

    __slots__ = ("calls", "seconds")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0


_current: contextvars.ContextVar[UpstreamTimer | None] = contextvars.ContextVar(
    "smart_launch_upstream_timer", default=None
)


def upstream_timer() -> UpstreamTimer:
    """Start a fresh timer for the current context and return it."""
    timer = UpstreamTimer()
    _current.set(timer)
    return timer


def stop_upstream_timer() -> None:
    """Stop timing in the current context (a worker thread is reused between requests)."""
    _current.set(None)


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: tuple[float, float], **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        started = time.perf_counter()
        try:
            response = super().send(request, **kwargs)
            if not kwargs.get("stream"):
                _ = response.content  # the body read is EHR time too
            return response
        finally:
            timer = _current.get()
            if timer is not None:
                timer.seconds += time.perf_counter() - started
                timer.calls += 1


def make_session(
    timeout: tuple[float, float] = DEFAULT_TIMEOUT, *, pool_maxsize: int = 16
) -> requests.Session:
    """Return a :class:`requests.Session` whose every request has a timeout.

    Redirects are not followed for POST by callers that care; environment proxies are ignored so
    no request is routed somewhere the operator did not configure.
    """
    return configure_session(requests.Session(), timeout, pool_maxsize=pool_maxsize)


def configure_session(
    session: requests.Session,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    *,
    pool_maxsize: int = 16,
) -> requests.Session:
    """Give an existing session (such as authlib's ``OAuth2Session``) the same guarantees."""
    session.trust_env = False
    adapter = _TimeoutAdapter(timeout, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "Quietline-SMART/0.1"
    return session
