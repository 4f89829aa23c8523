# SPDX-License-Identifier: Apache-2.0
"""Appointment changes that a verification allowed: reschedule and cancel, version-aware.

Each change claims the caller's grant first, then writes with
:meth:`smart_launch.fhir.FhirClient.update_with`: read, change, ``PUT`` with ``If-Match``, and on
409/412/428 read again and check again (standards section 5: "the app re-reads, re-verifies and
retries; it never overwrites blindly").  The checks run on every version read: the appointment
names this client (``participant.actor`` = ``Patient/<id>``), its status still allows a change,
and the grant has not expired.  After the write the grant is spent with the new ``versionId``,
a Provenance naming the staff member and the verification is queued for the EHR, and the audit
chain records the change (by the appointment's keyed hash, never its id).

Nothing is written without a grant.  When the EHR cannot be reached or keeps changing, the
grant is released so the staff member can try again while it lasts; when the appointment is not
this client's or can no longer change, the grant stays spent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.provenance import Provenance
from fhir.resources.R4B.resource import Resource
from sqlalchemy.exc import IntegrityError

from smart_launch.errors import FhirConflict
from smart_launch.errors import FhirGone
from smart_launch.errors import FhirNotFound
from smart_launch.errors import SmartLaunchError
from smart_launch.fhir import FhirClient

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.services import SqlAuditLog
from ..outbox.services import Outbox
from ..store import Database
from .errors import ChangeConflict
from .errors import EhrUnavailable
from .errors import NotChangeable
from .errors import NotThisClient
from .interfaces import Action
from .interfaces import Grant
from .services import CodewordService
from .services import GrantExpired

__all__ = [
    "CANCEL_REASONS",
    "CANCEL_SYSTEM",
    "CHANGEABLE",
    "AppointmentChanger",
    "ChangeResult",
    "Upcoming",
    "provenance_for",
    "upcoming",
]

log = logging.getLogger(__name__)

CHANGEABLE = frozenset({"proposed", "pending", "booked", "waitlist"})
"""Statuses a caller may still move or cancel (not arrived, fulfilled, cancelled...)."""
UPCOMING = frozenset({"booked", "pending", "proposed"})
"""Statuses listed to the front desk as upcoming."""
CANCEL_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
CANCEL_REASONS: Mapping[str, str] = {
    "pat": "Patient",
    "prov": "Provider",
    "oth-err": "Other: Error",
    "other": "Other",
}
"""The cancellation reasons offered (code -> the code system's display)."""
_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
VERIFICATION_SYSTEM = "urn:quietline:verification"
"""System of the identifier naming the verification (the grant id) in the Provenance."""


@dataclass(frozen=True)
class ChangeResult:
    """What was written: the appointment as the EHR now holds it."""

    action: Action
    appointment: Appointment
    version_id: str | None
    grant_id: str


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
        if appointment.status not in UPCOMING or not _names_patient(appointment, patient_id):
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


def _names_patient(appointment: Any, patient_id: str) -> bool:
    wanted = f"Patient/{patient_id}"
    for participant in getattr(appointment, "participant", None) or []:
        reference = getattr(getattr(participant, "actor", None), "reference", None) or ""
        if reference == wanted or reference.endswith("/" + wanted):
            return True
    return False


def _participant(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": _PARTICIPANT_TYPE, "code": code, "display": display}]}


def provenance_for(
    target: str, *, staff: str, grant_id: str, recorded: datetime, action: Action
) -> Provenance:
    """The Provenance of one appointment version written after a caller's verification.

    Neutral words only: it says that the change followed caller verification, not why the
    client is protected.
    """
    return Provenance.model_validate(
        {
            "resourceType": "Provenance",
            "meta": {"security": [{"system": _CONFIDENTIALITY, "code": "R"}]},
            "target": [{"reference": target}],
            "recorded": recorded.isoformat(),
            "activity": {
                "coding": [{"system": _DATA_OPERATION, "code": "UPDATE", "display": "revise"}],
                "text": action.label,
            },
            "reason": [{"text": "Caller verification passed"}],
            "agent": [
                {"type": _participant("author", "Author"), "who": {"reference": staff}},
                {"type": _participant("assembler", "Assembler"), "who": {"display": "Quietline"}},
            ],
            "entity": [
                {
                    "role": "source",
                    "what": {
                        "identifier": {"system": VERIFICATION_SYSTEM, "value": grant_id},
                        "display": "Caller verification",
                    },
                }
            ],
        }
    )


class AppointmentChanger:
    """Reschedules and cancels appointments under a grant.

    :param db: the database (the Provenance and the audit entry commit together).
    :param codewords: claims, completes and releases grants.
    :param outbox: queues the Provenance for the EHR.
    :param audit: records ``APPOINTMENT_CHANGE``.
    :param clock: seconds since the epoch; tests inject another.
    """

    def __init__(
        self,
        db: Database,
        codewords: CodewordService,
        outbox: Outbox,
        audit: SqlAuditLog,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._codewords = codewords
        self._outbox = outbox
        self._audit = audit
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def reschedule(
        self,
        fhir: FhirClient,
        *,
        tenant: str,
        patient_id: str,
        appointment_id: str,
        token: str,
        staff: str,
        new_start: datetime,
        new_end: datetime | None = None,
    ) -> ChangeResult:
        """Move the appointment to ``new_start`` (keeping its length unless ``new_end``).

        :raises ValueError: for a naive time or an end not after the start (nothing claimed).
        :raises GrantRefused: when the grant is expired, used or for another change.
        :raises ChangeNotMade: when the EHR was not changed (see :mod:`.errors`).
        """
        if new_start.tzinfo is None or (new_end is not None and new_end.tzinfo is None):
            raise ValueError("Appointment times need a time zone.")
        if new_end is not None and new_end <= new_start:
            raise ValueError("The new end must be after the new start.")

        def change(appointment: Appointment) -> None:
            end = new_end
            if end is None and appointment.start and appointment.end:
                end = new_start + (appointment.end - appointment.start)
            elif end is None and appointment.minutesDuration:
                end = new_start + timedelta(minutes=int(appointment.minutesDuration))
            appointment.start = new_start
            if end is not None:
                appointment.end = end
                if appointment.minutesDuration:
                    appointment.minutesDuration = int((end - new_start).total_seconds() // 60)

        return self._change(
            fhir, Action.RESCHEDULE, tenant, patient_id, appointment_id, token, staff, change
        )

    def cancel(
        self,
        fhir: FhirClient,
        *,
        tenant: str,
        patient_id: str,
        appointment_id: str,
        token: str,
        staff: str,
        reason: str,
    ) -> ChangeResult:
        """Cancel the appointment with ``cancelationReason`` ``reason``.

        :raises ValueError: for a reason not in :data:`CANCEL_REASONS` (nothing claimed).
        :raises GrantRefused: when the grant is expired, used or for another change.
        :raises ChangeNotMade: when the EHR was not changed (see :mod:`.errors`).
        """
        if reason not in CANCEL_REASONS:
            raise ValueError("Choose a cancellation reason from the list.")
        coding = {"system": CANCEL_SYSTEM, "code": reason, "display": CANCEL_REASONS[reason]}

        def change(appointment: Appointment) -> None:
            appointment.status = "cancelled"
            appointment.cancelationReason = CodeableConcept.model_validate({"coding": [coding]})

        return self._change(
            fhir, Action.CANCEL, tenant, patient_id, appointment_id, token, staff, change
        )

    def _change(  # noqa: PLR0917  (the shared body of reschedule and cancel)
        self,
        fhir: FhirClient,
        action: Action,
        tenant: str,
        patient_id: str,
        appointment_id: str,
        token: str,
        staff: str,
        apply: Callable[[Appointment], None],
    ) -> ChangeResult:
        grant = self._codewords.claim(
            tenant=tenant, token=token, staff=staff, action=action, appointment_id=appointment_id
        )

        def checked(resource: Resource) -> Resource:
            # Runs on every version read: a concurrent change is judged afresh.
            if self._now() >= grant.expires_at:
                raise GrantExpired
            if not isinstance(resource, Appointment) or not _names_patient(resource, patient_id):
                raise NotThisClient
            if resource.status not in CHANGEABLE:
                raise NotChangeable
            apply(resource)
            return resource

        try:
            written = fhir.update_with("Appointment", appointment_id, checked)
        except (FhirNotFound, FhirGone) as exc:
            raise NotChangeable from exc
        except FhirConflict as exc:
            self._release(tenant, grant)
            raise ChangeConflict(retry_until=grant.expires_at) from exc
        except SmartLaunchError as exc:
            self._release(tenant, grant)
            raise EhrUnavailable(retry_until=grant.expires_at) from exc
        if written is None or not isinstance(written.resource, Appointment):
            self._release(tenant, grant)
            raise EhrUnavailable(retry_until=grant.expires_at)
        self._record(tenant, patient_id, appointment_id, staff, action, grant, written.version_id)
        return ChangeResult(action, written.resource, written.version_id, grant.id)

    def _release(self, tenant: str, grant: Grant) -> None:
        try:
            self._codewords.release(tenant=tenant, grant_id=grant.id)
        except Exception:  # the grant then simply expires; the error is logged
            log.exception("grant %s could not be released", grant.id)

    def _record(  # noqa: PLR0917  (what one change leaves behind)
        self,
        tenant: str,
        patient_id: str,
        appointment_id: str,
        staff: str,
        action: Action,
        grant: Grant,
        version: str | None,
    ) -> None:
        """Spend the grant, queue the Provenance and audit; the EHR already holds the change,
        so a failure here is logged rather than shown as "nothing changed"."""
        self._codewords.complete(tenant=tenant, grant_id=grant.id, result_version=version)
        target = f"Appointment/{appointment_id}"
        if version:
            target += f"/_history/{version}"
        subject = self._codewords.pseudonym(tenant, patient_id)
        key = self._codewords.appointment_key(tenant, appointment_id)
        resource = provenance_for(
            target, staff=staff, grant_id=grant.id, recorded=self._now(), action=action
        )
        with self._db.session() as session:
            self._audit.record(
                AuditEvent(
                    tenant,
                    staff,
                    AuditAction.APPOINTMENT_CHANGE,
                    subject=subject,
                    detail={
                        "action": action.value,
                        "grant": grant.id,
                        "appointment": key[:16],
                        "version": version or "",
                    },
                ),
                session=session,
            )
            try:
                with session.begin_nested():
                    self._outbox.enqueue(
                        session,
                        tenant=tenant,
                        resource=resource,
                        identifier_value=target,
                        created_by=staff,
                        patient_pseudonym=subject,
                        search_param="target",
                    )
            except IntegrityError:  # an EHR without versions: that target was recorded already
                log.warning("Provenance for grant %s not queued: target already queued", grant.id)
