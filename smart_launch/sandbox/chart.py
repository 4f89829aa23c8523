# SPDX-License-Identifier: Apache-2.0
"""Read models the EHR pages show: patient summaries and the encounter a launch carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from .dates import parse_date_range
from .seed import MRN_SYSTEM

if TYPE_CHECKING:
    from .store import ResourceStore
    from .store import StoredResource

__all__ = [
    "PatientSummary",
    "latest_encounter",
    "patient_name",
    "patient_summaries",
    "patient_summary",
]


@dataclass(frozen=True)
class PatientSummary:
    """What the home page, the chart header and the patient picker show."""

    id: str
    name: str
    birth_date: str
    mrn: str
    next_appointment: str | None


def patient_name(resource: dict[str, Any]) -> str:
    """The display name of a Patient (or any resource with ``name``)."""
    for name in resource.get("name") or []:
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family", "")]
        text = " ".join(part for part in parts if part)
        if text:
            return text
    return str(resource.get("id", "Unnamed"))


def _mrn(resource: dict[str, Any]) -> str:
    for identifier in resource.get("identifier") or []:
        if identifier.get("system") == MRN_SYSTEM:
            return str(identifier.get("value", ""))
    return ""


def _start(stored: StoredResource, element: str) -> datetime | None:
    value = stored.body.get(element)
    if isinstance(value, dict):
        value = value.get("start")
    parsed = parse_date_range(value) if isinstance(value, str) else None
    return None if parsed is None else parsed.low


def _display_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def patient_summary(store: ResourceStore, stored: StoredResource) -> PatientSummary:
    """The summary of one Patient, with its next booked appointment."""
    now = datetime.now(UTC)
    upcoming = sorted(
        moment
        for appointment in store.current("Appointment", stored.id)
        if appointment.body.get("status") == "booked"
        and (moment := _start(appointment, "start")) is not None
        and moment >= now
    )
    return PatientSummary(
        id=stored.id,
        name=patient_name(stored.body),
        birth_date=str(stored.body.get("birthDate", "")),
        mrn=_mrn(stored.body),
        next_appointment=_display_time(upcoming[0]) if upcoming else None,
    )


def patient_summaries(store: ResourceStore) -> list[PatientSummary]:
    """Summaries of every live Patient, by id."""
    return [patient_summary(store, stored) for stored in store.current("Patient")]


def latest_encounter(
    store: ResourceStore, patient: str, *, status: str | None = None
) -> str | None:
    """Id of the patient's Encounter with the latest ``period.start`` (optionally by status)."""
    candidates = [
        (moment, stored.id)
        for stored in store.current("Encounter", patient)
        if status is None or stored.body.get("status") == status
        if (moment := _start(stored, "period")) is not None
    ]
    return max(candidates)[1] if candidates else None
