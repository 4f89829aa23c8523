# SPDX-License-Identifier: Apache-2.0
"""Appointment changes that a verification allowed: reschedule and cancel, version-aware.

Before a caller's word is checked for an appointment, :meth:`AppointmentChanger.check_client`
reads it from the EHR: a verification is never given for another client's appointment.

Each change claims the caller's grant first (it must have been given for the word of the client
in the launch making the change), then writes with
:meth:`smart_launch.fhir.FhirClient.update_with`: read, change, ``PUT`` with ``If-Match``, and on
409/412/428 read again and check again (standards section 5: "the app re-reads, re-verifies and
retries; it never overwrites blindly").  The checks run on every version read: the appointment
names this client (``participant.actor`` = ``Patient/<id>``), its status still allows a change,
and the grant has not expired.  After the write the grant is spent with the new ``versionId``,
a Provenance naming the staff member and the verification is queued for the EHR, and the audit
chain records the change (by the appointment's keyed hash, never its id).

Nothing is written without a grant.  When the EHR cannot be reached or keeps changing, the
grant is released so the staff member can try again while it lasts; when the appointment is not
this client's or can no longer change, the grant stays spent.  An appointment or a grant of
another client is audited and alerted (:mod:`plugin.codeword.mismatch`).

The change is recorded as an intent before the write (:mod:`plugin.codeword.intents`).  When
the EHR took the change but recording it failed, :class:`~.errors.ChangeRecordPending` says
so, and the record is completed at the client's next change or verification, or by the next
bypass-detection pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.resource import Resource

from smart_launch.errors import FhirConflict
from smart_launch.errors import FhirGone
from smart_launch.errors import FhirNotFound
from smart_launch.errors import FhirUnauthorized
from smart_launch.errors import FhirValidationError
from smart_launch.errors import SmartLaunchError
from smart_launch.fhir import FhirClient

from ..store import Database
from .errors import ChangeConflict
from .errors import ChangeNotMade
from .errors import ChangeRecordPending
from .errors import EhrUnavailable
from .errors import NotChangeable
from .errors import NotThisClient
from .grants import GrantRefused
from .intents import ChangeIntents
from .interfaces import Action
from .interfaces import Grant
from .mismatch import Mismatch
from .mismatch import names_patient
from .mismatch import patients_of
from .provenance import provenance_for
from .schedule import Upcoming
from .schedule import upcoming
from .services import CodewordService
from .services import GrantExpired
from .services import GrantOtherClient

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
_FORBIDDEN = 403
CANCEL_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
CANCEL_REASONS: Mapping[str, str] = {
    "pat": "Patient",
    "prov": "Provider",
    "oth-err": "Other: Error",
    "other": "Other",
}
"""The cancellation reasons offered (code -> the code system's display)."""


@dataclass(frozen=True)
class ChangeResult:
    """What was written: the appointment as the EHR now holds it."""

    action: Action
    appointment: Appointment
    version_id: str | None
    grant_id: str


@dataclass(frozen=True)
class _Asked:
    """Which change a staff member asked for, in which client's launch."""

    tenant: str
    patient_id: str
    staff: str
    action: Action
    appointment_id: str

    def mismatch(
        self, stage: str, owners: Sequence[str] = (), *, result: str = "not-this-client"
    ) -> Mismatch:
        return Mismatch(self.tenant, self.patient_id, self.staff, self.action.value,
                        self.appointment_id, result, stage, tuple(owners))  # fmt: skip


class AppointmentChanger:
    """Reschedules and cancels appointments under a grant.

    :param db: the database.
    :param codewords: checks grants and the client.
    :param intents: records each change before the write and settles it after (the grant,
        the audit entry and the Provenance); bypass detection shares them.
    :param clock: seconds since the epoch; tests inject another.
    """

    def __init__(
        self,
        db: Database,
        codewords: CodewordService,
        intents: ChangeIntents,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._codewords = codewords
        self._clock = clock
        self._intents = intents

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def check_client(
        self,
        fhir: FhirClient,
        *,
        tenant: str,
        patient_id: str,
        appointment_id: str,
        staff: str,
        action: Action,
    ) -> None:
        """Before a caller's word is checked for ``appointment_id``: read it from the EHR and
        make sure it names the client in the launch (``Patient/<patient_id>``).

        :raises NotThisClient: when it does not, or the EHR refuses the read as outside the
            launch's patient (audited and alerted as a mismatch).
        :raises NotChangeable: when the EHR has no such appointment.
        :raises EhrUnavailable: when the EHR cannot be reached.
        """
        asked = _Asked(tenant, patient_id, staff, action, appointment_id)
        self._recover(fhir, tenant, patient_id)
        try:
            resource = fhir.read("Appointment", appointment_id).resource
        except FhirUnauthorized as exc:
            if exc.http_status != _FORBIDDEN:
                raise EhrUnavailable from exc
            self._codewords.record_mismatch(asked.mismatch("verify"))
            raise NotThisClient from exc
        except (FhirNotFound, FhirGone, FhirValidationError) as exc:
            raise NotChangeable from exc
        except SmartLaunchError as exc:
            raise EhrUnavailable from exc
        if not names_patient(resource, patient_id):
            self._codewords.record_mismatch(asked.mismatch("verify", patients_of(resource)))
            raise NotThisClient

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
        asked = _Asked(tenant, patient_id, staff, action, appointment_id)
        self._recover(fhir, tenant, patient_id)
        try:
            intent = self._intents.begin(tenant, patient_id, token, staff, action, appointment_id)
        except GrantOtherClient:
            self._codewords.record_mismatch(asked.mismatch("write", result="other-client"))
            raise
        grant = intent.grant
        owners: list[str] = []
        read: list[bool] = []

        def checked(resource: Resource) -> Resource:
            # Runs on every version read (the first and each re-read after 409/412/428), so a
            # concurrent change is judged afresh before any PUT.
            read.append(True)
            if self._now() >= grant.expires_at:
                raise GrantExpired
            if not isinstance(resource, Appointment) or not names_patient(resource, patient_id):
                owners.extend(patients_of(resource))
                raise NotThisClient
            if resource.status not in CHANGEABLE:
                raise NotChangeable
            apply(resource)
            self._intents.aim(intent, resource)
            return resource

        try:
            written, version = self._write(
                fhir, tenant, appointment_id, grant, checked=checked, first_read=lambda: not read
            )
        except NotThisClient:
            self._intents.not_written(intent)
            self._codewords.record_mismatch(asked.mismatch("write", owners))
            raise
        except (ChangeNotMade, GrantRefused):
            self._intents.not_written(intent)
            raise
        try:
            self._intents.written(intent, version)
        except Exception as exc:
            # The EHR holds the change: the user is told so, and recovery completes the record.
            log.warning("change record for intent %s deferred: %s", intent.id, type(exc).__name__)
            self._intents.stalled(intent)
            raise ChangeRecordPending from exc
        return ChangeResult(action, written, version, grant.id)

    def _recover(self, fhir: FhirClient, tenant: str, patient_id: str) -> None:
        """Complete the client's interrupted changes first; a failure never blocks this one."""
        try:
            self._intents.recover_client(fhir, tenant, patient_id)
        except Exception as exc:  # noqa: BLE001  (bypass detection retries; logged by type)
            log.warning("change recovery skipped: %s", type(exc).__name__)

    def _write(
        self,
        fhir: FhirClient,
        tenant: str,
        appointment_id: str,
        grant: Grant,
        *,
        checked: Callable[[Resource], Resource],
        first_read: Callable[[], bool],
    ) -> tuple[Appointment, str | None]:
        """``update_with`` and what its failures mean for the grant (released when a retry may
        succeed).  A 403 answering the first read is the EHR refusing another client's appointment
        (outside the launch's patient compartment)."""
        try:
            written = fhir.update_with("Appointment", appointment_id, checked)
        except FhirUnauthorized as exc:
            if exc.http_status == _FORBIDDEN and first_read():
                raise NotThisClient from exc
            self._release(tenant, grant)
            raise EhrUnavailable(retry_until=grant.expires_at) from exc
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
        return written.resource, written.version_id

    def _release(self, tenant: str, grant: Grant) -> None:
        try:
            self._codewords.release(tenant=tenant, grant_id=grant.id)
        except Exception:  # the grant then simply expires; the error is logged
            log.exception("grant %s could not be released", grant.id)
