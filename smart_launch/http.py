# SPDX-License-Identifier: Apache-2.0
"""The one place outbound HTTP sessions are made.

Every request carries a timeout.  Time spent waiting on the EHR is accumulated in a context
variable so a web adapter can report the app's own server time apart from the EHR's
(``Server-Timing: app;dur=…, ehr;dur=…``).

Documents fetched from an EHR (key sets, discovery) go through :func:`get_bounded`, which
streams the body and stops past a size limit instead of reading whatever arrives.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import SmartLaunchError

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_DOCUMENT_BYTES",
    "ResponseTooLarge",
    "UpstreamTimer",
    "configure_session",
    "get_bounded",
    "make_session",
    "stop_upstream_timer",
    "upstream_timer",
]

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
"""(connect, read) seconds applied when a caller gives none."""

MAX_DOCUMENT_BYTES = 64 * 1024
"""The largest key set or discovery document read from an EHR."""

_CHUNK = 8192


class ResponseTooLarge(SmartLaunchError):
    """The EHR answered with a document larger than Quietline reads."""

    error = "upstream_response_too_large"
    description = "The EHR's answer is too large to read."
    status_code = 502


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


def get_bounded(
    session: requests.Session,
    url: str,
    *,
    limit: int = MAX_DOCUMENT_BYTES,
    timeout: tuple[float, float] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """GET ``url`` without following redirects and return ``(status, body)``.

    The declared ``Content-Length`` is checked first, then the body is streamed and the read
    stops as soon as it passes ``limit`` bytes, so a huge or endless answer costs at most
    ``limit`` bytes of memory.

    :raises ResponseTooLarge: when the body is, or says it is, larger than ``limit``.
    :raises requests.RequestException: when the EHR cannot be reached.
    """
    response = session.get(
        url,
        timeout=timeout,
        allow_redirects=False,
        stream=True,
        headers=headers or {"Accept": "application/json"},
    )
    with response:
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise ResponseTooLarge
        body = bytearray()
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise ResponseTooLarge
        return response.status_code, bytes(body)
