# SPDX-License-Identifier: Apache-2.0
"""A tenant's retention policy: how long each kind of vault record is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

__all__ = ["RetentionPolicy"]


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each record type is kept; ``default_days`` for types not named."""

    default_days: int = 7 * 365
    days: tuple[tuple[str, int], ...] = (("note-draft", 30), ("screening-draft", 30))

    def expiry(self, record_type: str, now: datetime) -> datetime:
        return now + timedelta(days=dict(self.days).get(record_type, self.default_days))

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None) -> RetentionPolicy:
        if not data:
            return cls()
        types = data.get("types") or {}
        return cls(
            default_days=int(data.get("default_days", 7 * 365)),
            days=tuple((str(k), int(v)) for k, v in dict(types).items()),
        )
