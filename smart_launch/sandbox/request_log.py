# SPDX-License-Identifier: Apache-2.0
"""A bounded, thread-safe, in-memory record of every request the sandbox received.

Tests read it to assert what an app sent (headers, form fields, query parameters).  It holds
secrets by design and is never written anywhere; the console access log is separate and shows
only method and path (see :mod:`smart_launch.sandbox.server`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["RequestLog", "RequestRecord"]


@dataclass(frozen=True)
class RequestRecord:
    """One inbound request.  Multi-valued fields keep their first value."""

    method: str
    path: str
    args: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


class RequestLog:
    """A list-like view of the most recent ``maxlen`` requests, oldest first."""

    def __init__(self, maxlen: int = 2000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Record a request, dropping the oldest when full."""
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def snapshot(self) -> list[RequestRecord]:
        """A copy of the records, oldest first."""
        with self._lock:
            return list(self._records)

    def matching(self, path_prefix: str, method: str | None = None) -> list[RequestRecord]:
        """Records whose path starts with ``path_prefix`` (and, if given, with ``method``)."""
        return [
            record
            for record in self.snapshot()
            if record.path.startswith(path_prefix) and (method is None or record.method == method)
        ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._records[index]
