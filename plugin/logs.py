# SPDX-License-Identifier: Apache-2.0
"""Logging set-up that masks anything token-shaped before it reaches a handler's output.

Two layers: :class:`RedactingFilter` rewrites the rendered message of every record a root
handler sees, and :class:`RedactingFormatter` redacts the whole formatted line, including the
traceback (``exc_text``) and ``stack_info``, which the filter cannot reach.  Only token-shaped
values are recognised (``code=…``, ``state=…``, bearer and basic credentials, JWTs); free text is
not, so client details must never be put into a log message or an exception message at all.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["RedactingFilter", "RedactingFormatter", "configure_logging", "redact"]

_PATTERNS = (
    re.compile(r"(?i)((?:bearer|basic)\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_assertion|client_secret|code_verifier"
        r"|code|state|launch|password)\\?[\"']?\s*[=:]\s*\\?[\"']?)[^\s&\"',}\\]+"
    ),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
)

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def redact(text: str) -> str:
    """``text`` with every token-shaped value replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the rendered message; query strings and JWTs never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the result of ``format()``: the message, the traceback and the stack.

    ``inner`` keeps a handler's existing layout; without it the usual ``fmt`` arguments apply.
    The cached traceback text and stack on the record are redacted too, so a handler without
    this formatter that reuses them does not see the raw text either.
    """

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        *,
        inner: logging.Formatter | None = None,
    ) -> None:
        super().__init__(fmt, datefmt)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        text = self.inner.format(record) if self.inner else super().format(record)
        return redact(text)


def _redacting(formatter: logging.Formatter | None) -> RedactingFormatter:
    if isinstance(formatter, RedactingFormatter):
        return formatter
    return RedactingFormatter(inner=formatter)


def configure_logging(level: str = "INFO", **_: Any) -> None:
    """Put the filter and the redacting formatter on every root handler (adding one if none)."""
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        stream = logging.StreamHandler()
        stream.setFormatter(RedactingFormatter(_FORMAT))
        root.addHandler(stream)
    root.setLevel(level)
    for handler in root.handlers:
        handler.setFormatter(_redacting(handler.formatter))
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
