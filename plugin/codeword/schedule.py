# SPDX-License-Identifier: Apache-2.0
"""The client's upcoming appointments as the front desk sees them, read live from the EHR."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from fhir.resources.R4B.appointment import Appointment

from smart_launch.fhir import FhirClient

from .mismatch import names_patient

__all__ = ["UPCOMING", "Upcoming", "upcoming"]

UPCOMING = frozenset({"booked", "pending", "proposed"})
"""Statuses listed to the front desk as upcoming."""


@dataclass(frozen=True)
class Upcoming:
    """One of the client's upcoming appointments, as the front desk sees it."""

    id: str
    start: datetime | None
    end: datetime | None
    status: str
    label: str
    staff: tuple[str, ...]


def upcoming(fhir: FhirClient, patient_id: str, now: datetime) -> list[Upcoming]:
    """The client's booked, pending and proposed appointments from today on, soonest first."""
    found = fhir.search(
        "Appointment",
        [
            ("patient", patient_id),
            ("date", f"ge{now.date().isoformat()}"),
            ("status", ",".join(sorted(UPCOMING))),
            ("_count", "50"),
        ],
    )
    rows = []
    for appointment in found:
        if not isinstance(appointment, Appointment) or appointment.id is None:
            continue
        if appointment.status not in UPCOMING or not names_patient(appointment, patient_id):
            continue
        service = next((s.text for s in appointment.serviceType or [] if s.text), None)
        staff = tuple(
            str(p.actor.display)
            for p in appointment.participant or []
            if p.actor is not None
            and p.actor.display
            and not str(p.actor.reference or "").startswith("Patient/")
        )
        rows.append(
            Upcoming(
                id=str(appointment.id),
                start=appointment.start,
                end=appointment.end,
                status=str(appointment.status),
                label=service or appointment.description or "Appointment",
                staff=staff,
            )
        )
    return sorted(rows, key=lambda row: row.start or datetime.max.replace(tzinfo=UTC))
