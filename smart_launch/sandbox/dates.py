# SPDX-License-Identifier: Apache-2.0
"""FHIR ``date``, ``dateTime`` and ``instant`` values as half-open UTC ranges.

FHIR R4 "Search", section 3.1.1.4.2 (date): "the range of the search value ... is the
implicit range of the precision given", so ``2024-03`` is the whole of March.  A value without
a time zone is read as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

__all__ = ["DateRange", "parse_date_range"]

_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True)
class DateRange:
    """``[low, high)`` in UTC."""

    low: datetime
    high: datetime

    @classmethod
    def unbounded(cls) -> DateRange:
        """The range of all time (an open Period end)."""
        return cls(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def parse_date_range(text: str) -> DateRange | None:
    """The implicit range of a FHIR date/dateTime/instant string, or ``None`` if malformed."""
    match = _DATE.match(text)
    if match is None:
        return None
    year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zone_s = match.groups()
    year = int(year_s)
    try:
        if month_s is None:
            low = datetime(year, 1, 1, tzinfo=UTC)
            return DateRange(low, datetime(year + 1, 1, 1, tzinfo=UTC))
        month = int(month_s)
        if day_s is None:
            low = datetime(year, month, 1, tzinfo=UTC)
            next_year, next_month = _next_month(year, month)
            return DateRange(low, datetime(next_year, next_month, 1, tzinfo=UTC))
        day = int(day_s)
        if hour_s is None:
            low = datetime(year, month, day, tzinfo=UTC)
            return DateRange(low, low + timedelta(days=1))
        zone = _zone(zone_s)
        second = int(second_s or 0)
        micro = min(int(float(fraction) * 1_000_000), 999_999) if fraction else 0
        low = datetime(year, month, day, int(hour_s), int(minute_s), second, micro, tzinfo=zone)
    except ValueError:
        return None
    if second_s is None:
        width = timedelta(minutes=1)
    elif fraction is None:
        width = timedelta(seconds=1)
    else:
        width = timedelta(milliseconds=1)
    low = low.astimezone(UTC)
    return DateRange(low, low + width)
