# SPDX-License-Identifier: Apache-2.0
"""The scheduling desk's data: upcoming appointments, new and changed Appointments, and the
changes waiting for the user's decision after decision support answered.

Changes made here are written straight into the sandbox's FHIR store as new versions, the way
an EHR's own scheduling screen changes appointments without any app taking part.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import Any

from .chart import patient_name
from .dates import parse_date_range
from .references import parse_reference
from .seed import THERAPIST
from .seed import USERS

if TYPE_CHECKING:
    from .cds_client import ServiceAnswer
    from .store import ResourceStore
    from .store import StoredResource

__all__ = [
    "DURATION_MINUTES",
    "PENDING_SECONDS",
    "PendingChange",
    "PendingChanges",
    "ScheduleRow",
    "booked",
    "cancelled",
    "moved",
    "parse_start",
    "patient_of",
    "proposed",
    "upcoming",
]

DURATION_MINUTES = 50
PENDING_SECONDS = 900.0
"""How long a change waits for the user's decision after decision support answered."""
_MAX_PENDING = 500
_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class ScheduleRow:
    """One line of the schedule."""

    id: str
    patient_id: str
    patient_name: str
    start: datetime
    practitioner: str
    status: str

    @property
    def when(self) -> str:
        return self.start.strftime("%Y-%m-%d %H:%M UTC")

    @property
    def input_value(self) -> str:
        """The start as a ``datetime-local`` input value (UTC)."""
        return self.start.strftime(_INPUT_FORMAT)


def _start(body: dict[str, Any]) -> datetime | None:
    value = body.get("start")
    parsed = parse_date_range(value) if isinstance(value, str) else None
    return None if parsed is None else parsed.low.astimezone(UTC)


def patient_of(body: dict[str, Any]) -> str | None:
    """The id of the Patient taking part in an Appointment."""
    for participant in body.get("participant") or []:
        reference = (participant.get("actor") or {}).get("reference")
        parsed = parse_reference(reference, "") if isinstance(reference, str) else None
        if parsed is not None and parsed[0] == "Patient":
            return parsed[1]
    return None


def _practitioner(body: dict[str, Any]) -> str:
    for participant in body.get("participant") or []:
        actor = participant.get("actor") or {}
        if str(actor.get("reference", "")).startswith("Practitioner/"):
            return str(actor.get("display") or actor["reference"])
    return "Not assigned"


def upcoming(store: ResourceStore, now: datetime | None = None) -> list[ScheduleRow]:
    """Appointments of every patient starting from ``now``, earliest first."""
    moment = now or datetime.now(UTC)
    names = {stored.id: patient_name(stored.body) for stored in store.current("Patient")}
    rows: list[ScheduleRow] = []
    for stored in store.current("Appointment"):
        start = _start(stored.body)
        patient = patient_of(stored.body)
        if start is None or patient is None or start < moment:
            continue
        rows.append(
            ScheduleRow(
                id=stored.id,
                patient_id=patient,
                patient_name=names.get(patient, "Unknown patient"),
                start=start,
                practitioner=_practitioner(stored.body),
                status=str(stored.body.get("status", "")),
            )
        )
    return sorted(rows, key=lambda row: (row.start, row.patient_name, row.id))


def parse_start(value: str) -> datetime | None:
    """A ``datetime-local`` value (``YYYY-MM-DDTHH:MM``), read as UTC; ``None`` if malformed."""
    try:
        return datetime.strptime(value.strip()[:16], _INPUT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def booked(appointment_id: str, patient: StoredResource, start: datetime) -> dict[str, Any]:
    """A new booked session of ``patient`` with the therapist."""
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": "booked",
        "serviceType": [{"text": "Individual therapy session"}],
        "description": "Counselling session",
        "start": _instant(start),
        "end": _instant(start + timedelta(minutes=DURATION_MINUTES)),
        "minutesDuration": DURATION_MINUTES,
        "participant": [
            {
                "actor": {
                    "reference": f"Patient/{patient.id}",
                    "display": patient_name(patient.body),
                },
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": {"reference": f"Practitioner/{THERAPIST}", "display": USERS[THERAPIST]},
                "required": "required",
                "status": "accepted",
            },
        ],
    }


def _without_meta(body: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    copied.pop("meta", None)
    return copied


def moved(body: dict[str, Any], start: datetime) -> dict[str, Any]:
    """``body`` at a new start, keeping its length."""
    changed = _without_meta(body)
    minutes = int(body.get("minutesDuration") or DURATION_MINUTES)
    changed["start"] = _instant(start)
    changed["end"] = _instant(start + timedelta(minutes=minutes))
    return changed


def cancelled(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` cancelled at the front desk."""
    changed = _without_meta(body)
    changed["status"] = "cancelled"
    changed["cancelationReason"] = {"text": "Cancelled at the front desk"}
    return changed


def proposed(body: dict[str, Any]) -> dict[str, Any]:
    """The Appointment as decision support sees it: ``status`` ``proposed``."""
    changed = _without_meta(body)
    changed["status"] = "proposed"
    changed.pop("cancelationReason", None)
    return changed


@dataclass(frozen=True)
class PendingChange:
    """A Book or Change held while the user reads what decision support said."""

    action: str
    """``book``, ``move`` or ``cancel``."""
    user_id: str
    patient_id: str
    appointment: dict[str, Any]
    """The Appointment to write if the user goes on."""
    base_version: int | None
    """The version a Change was made against (``None`` for a booking)."""
    answers: tuple[ServiceAnswer, ...]
    created_at: float

    @property
    def is_booking(self) -> bool:
        return self.action == "book"

    @property
    def unanswered(self) -> bool:
        return any(answer.error is not None for answer in self.answers)


class PendingChanges:
    """Pending changes in memory, under random keys, for :data:`PENDING_SECONDS`."""

    def __init__(self) -> None:
        self._items: dict[str, PendingChange] = {}
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for key in [k for k, v in self._items.items() if now - v.created_at > PENDING_SECONDS]:
            del self._items[key]

    def add(self, change: PendingChange) -> str:
        """Keep ``change``; returns its key."""
        key = secrets.token_urlsafe(24)
        with self._lock:
            self._expire(time.time())
            if len(self._items) >= _MAX_PENDING:
                oldest = min(self._items, key=lambda k: self._items[k].created_at)
                del self._items[oldest]
            self._items[key] = change
        return key

    def take(self, key: str) -> PendingChange | None:
        """Remove and return the change (single use); ``None`` if unknown or expired."""
        with self._lock:
            self._expire(time.time())
            return self._items.pop(key, None)
