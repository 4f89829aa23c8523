# SPDX-License-Identifier: Apache-2.0
"""Logging set-up with a last-line filter that masks anything token-shaped."""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["RedactingFilter", "configure_logging"]

_PATTERNS = (
    re.compile(r"(?i)((?:bearer|basic)\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_assertion|client_secret|code_verifier"
        r"|code|state|launch|password)\\?[\"']?\s*[=:]\s*\\?[\"']?)[^\s&\"',}\\]+"
    ),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
)


def _redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the rendered message; query strings and JWTs never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


def configure_logging(level: str = "INFO", **_: Any) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        stream.addFilter(RedactingFilter())
        root.addHandler(stream)
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
