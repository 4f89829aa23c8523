# SPDX-License-Identifier: Apache-2.0
"""A bounded, thread-safe, in-memory record of every request the sandbox received.

Tests read it to assert what an app sent (headers, form fields, query parameters).  It holds
secrets by design and is never written anywhere; the console access log is separate and shows
only method and path (see :mod:`smart_launch.sandbox.server`).

It also keeps who each FHIR write was made for (:class:`WriteRecord`): the client the access
token was issued to and the user it acts for, ``None`` for a Backend Services (``system/``)
token.  That is the author an EHR would put in its own audit trail.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["RequestLog", "RequestRecord", "WriteRecord"]


@dataclass(frozen=True)
class RequestRecord:
    """One inbound request.  Multi-valued fields keep their first value."""

    method: str
    path: str
    args: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class WriteRecord:
    """One FHIR write that changed the store, and whose token made it.

    :param interaction: ``create``, ``update`` or ``delete``.
    :param user_id: the user the token acts for; ``None`` for a system token.
    """

    interaction: str
    resource_type: str
    resource_id: str
    version: int
    client_id: str
    user_id: str | None


class RequestLog:
    """A list-like view of the most recent ``maxlen`` requests, oldest first."""

    def __init__(self, maxlen: int = 2000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._writes: deque[WriteRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def record_write(self, write: WriteRecord) -> None:
        """Note who made a write (the FHIR views call this once the store changed)."""
        with self._lock:
            self._writes.append(write)

    def writes(self) -> list[WriteRecord]:
        """The writes recorded so far, oldest first."""
        with self._lock:
            return list(self._writes)

    def append(self, record: RequestRecord) -> None:
        """Record a request, dropping the oldest when full."""
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()
            self._writes.clear()

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
