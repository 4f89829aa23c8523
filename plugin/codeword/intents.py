# SPDX-License-Identifier: Apache-2.0
"""Change intents: an appointment change is recorded before the EHR is written, so a change
the EHR took can never end without its audit entry and Provenance.

The life of one change:

1. :meth:`ChangeIntents.begin` claims the grant, adds a ``writing`` intent (grant, action,
   the appointment's keyed hash, staff member) and audits the attempt, in one transaction.
2. Before each ``PUT``, :meth:`ChangeIntents.aim` notes the version read, the version the
   write should produce and the fingerprint of the changed appointment.
3. After the EHR answered, :meth:`ChangeIntents.written` settles the intent, spends the grant,
   audits the change and queues its Provenance in one transaction; :meth:`not_written` closes
   an intent whose write did not happen.

When step 3 fails after a successful write, the intent stays ``writing`` and is marked stalled.
Recovery (:meth:`recover_client` at the start of the client's next change or verification,
:meth:`recover_seen` in the bypass-detection pass) reads the appointment from the EHR, decides
from its version and fingerprint whether the write happened, and records it exactly once: the
settling ``UPDATE`` only succeeds for an intent still ``writing``, in the transaction that
writes the audit entry and queues the Provenance.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smart_launch.fhir import FhirClient

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..outbox.services import Outbox
from ..store import Database
from .interfaces import Action
from .interfaces import Grant
from .locking import write_transaction
from .models import ChangeIntent
from .provenance import provenance_for

if TYPE_CHECKING:
    from .services import CodewordService

__all__ = [
    "NOT_WRITTEN",
    "STALE_AFTER",
    "UNCONFIRMED",
    "WRITING",
    "WRITTEN",
    "ChangeIntents",
    "Intent",
    "change_fingerprint",
]

log = logging.getLogger(__name__)

WRITING, WRITTEN, NOT_WRITTEN = "writing", "written", "not-written"
UNCONFIRMED = "unconfirmed"
"""Closed without a record: the appointment changed, but not into what this write would have
made it, so bypass detection judges the change instead."""
STALE_AFTER = timedelta(minutes=5)
"""An intent still ``writing`` this long after it began belongs to a request that ended."""


def _instant(value: Any) -> str:
    if not isinstance(value, datetime):
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def change_fingerprint(appointment: Any) -> str:
    """SHA-256 over what a change writes: start and end (as UTC instants), status and
    participants; the same appointment in another time-zone notation has the same one."""
    actors = sorted(
        str(getattr(getattr(p, "actor", None), "reference", None) or "")
        for p in getattr(appointment, "participant", None) or []
    )
    parts = [
        _instant(getattr(appointment, "start", None)),
        _instant(getattr(appointment, "end", None)),
        str(getattr(appointment, "status", "") or ""),
        *actors,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _version(appointment: Any) -> str | None:
    meta = getattr(appointment, "meta", None)
    return str(meta.versionId) if meta is not None and meta.versionId else None


def _next_version(version: str | None) -> str | None:
    """The version a write on ``version`` produces, when the EHR numbers versions."""
    return str(int(version) + 1) if version is not None and version.isdigit() else None


@dataclass(frozen=True)
class Intent:
    """One change under way: the claimed grant and what it is for."""

    id: str
    tenant: str
    grant: Grant
    staff: str
    action: Action
    appointment_id: str
    subject: str
    """The client's pseudonym."""


class ChangeIntents:
    """Records appointment changes around their EHR write and completes interrupted ones.

    :param db: the database.
    :param codewords: claims and spends grants; pseudonyms and appointment keys.
    :param outbox: queues the Provenance.
    :param audit: the audit chain.
    :param now: the current time (timezone-aware).
    """

    def __init__(
        self,
        db: Database,
        codewords: CodewordService,
        outbox: Outbox,
        audit: AuditSink,
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._codewords = codewords
        self._outbox = outbox
        self._audit = audit
        self._now = now

    def begin(  # noqa: PLR0917  (the change asked for)
        self,
        tenant: str,
        patient_id: str,
        token: str,
        staff: str,
        action: Action,
        appointment_id: str,
    ) -> Intent:
        """Claim the grant, add the ``writing`` intent and audit the attempt, together.

        :raises GrantRefused: when the grant cannot be claimed (nothing is recorded).
        """
        subject = self._codewords.pseudonym(tenant, patient_id)
        key = self._codewords.appointment_key(tenant, appointment_id)
        with self._db.session() as session:
            grant = self._codewords.claim(tenant=tenant, patient_id=patient_id, token=token,
                                          staff=staff, action=action,
                                          appointment_id=appointment_id,
                                          session=session)  # fmt: skip
            intent = ChangeIntent(id=str(uuid.uuid4()), tenant_id=tenant, grant_id=grant.id,
                                  patient_pseudonym=subject, action=action.value,
                                  appointment_key=key, staff=staff, state=WRITING,
                                  created_at=self._now())  # fmt: skip
            session.add(intent)
            self._audit.record(
                AuditEvent(tenant, staff, AuditAction.APPOINTMENT_CHANGE, subject=subject,
                           detail={"stage": "intent", "action": action.value,
                                   "grant": grant.id, "appointment": key[:16]}),
                session=session,
            )  # fmt: skip
        return Intent(intent.id, tenant, grant, staff, action, appointment_id, subject)

    def aim(self, intent: Intent, changed: Any) -> None:
        """Before a ``PUT`` of ``changed`` (the version read, with the change applied): note
        that version and what the write should produce."""
        base = _version(changed)
        with self._db.session() as session:
            session.execute(
                update(ChangeIntent)
                .where(ChangeIntent.id == intent.id, ChangeIntent.state == WRITING)
                .values(
                    base_version=base,
                    target_version=_next_version(base),
                    expected=change_fingerprint(changed),
                )
                .execution_options(synchronize_session=False)
            )

    def written(self, intent: Intent, version: str | None) -> None:
        """Settle a write the EHR confirmed: spend the grant, audit, queue the Provenance.

        :raises Exception: whatever stopped the record; the intent then stays ``writing``.
        """
        with write_transaction(self._db) as session:
            if not self._settle(session, intent.id, WRITTEN, version):
                return
            self._codewords.complete(tenant=intent.tenant, grant_id=intent.grant.id,
                                     result_version=version, session=session)  # fmt: skip
            self._record(session, intent, version, recovered=False)

    def not_written(self, intent: Intent) -> None:
        """Close an intent whose write did not happen (a failure here is left to recovery)."""
        try:
            with self._db.session() as session:
                self._settle(session, intent.id, NOT_WRITTEN, None)
        except Exception:  # recovery reads the EHR and closes it later; the error is logged
            log.exception("change intent %s could not be closed", intent.id)

    def stalled(self, intent: Intent) -> None:
        """Mark an intent whose record failed after the write, so recovery takes it at once."""
        try:
            with self._db.session() as session:
                session.execute(
                    update(ChangeIntent)
                    .where(ChangeIntent.id == intent.id, ChangeIntent.state == WRITING)
                    .values(stalled_at=self._now())
                    .execution_options(synchronize_session=False)
                )
        except Exception:  # it is then recovered once it is STALE_AFTER old
            log.exception("change intent %s could not be marked", intent.id)

    # --- recovery -----------------------------------------------------------------------------

    def _due(self, tenant: str, *where: Any) -> list[ChangeIntent]:
        i = ChangeIntent
        ended = or_(i.stalled_at.is_not(None), i.created_at <= self._now() - STALE_AFTER)
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(i)
                    .where(i.tenant_id == tenant, i.state == WRITING, ended, *where)
                    .order_by(i.created_at, i.id)
                )
            )

    def in_flight(self, tenant: str, appointment_id: str) -> bool:
        """Whether a change of this appointment is being written right now."""
        key = self._codewords.appointment_key(tenant, appointment_id)
        i = ChangeIntent
        with self._db.session() as session:
            found = session.scalar(
                select(i.id).where(
                    i.tenant_id == tenant, i.appointment_key == key, i.state == WRITING
                )
            )
        return found is not None

    def recover_client(self, fhir: FhirClient, tenant: str, patient_id: str) -> int:
        """Complete the client's interrupted changes from their appointments in the EHR.

        :returns: how many intents were settled.
        :raises SmartLaunchError: when the EHR cannot be read (nothing is settled then).
        """
        due = self._due(tenant, ChangeIntent.patient_pseudonym == self._codewords.pseudonym(
            tenant, patient_id))  # fmt: skip
        if not due:
            return 0
        found = fhir.search("Appointment", {"patient": patient_id, "_count": "100"})
        return self._settle_all(tenant, due, found)

    def recover_seen(self, tenant: str, appointment: Any) -> int:
        """Complete interrupted changes of ``appointment``, just read from the EHR."""
        key = self._codewords.appointment_key(tenant, str(appointment.id))
        due = self._due(tenant, ChangeIntent.appointment_key == key)
        return self._settle_all(tenant, due, [appointment]) if due else 0

    def _settle_all(self, tenant: str, due: list[ChangeIntent], found: Sequence[Any]) -> int:
        by_key = {
            self._codewords.appointment_key(tenant, str(a.id)): a
            for a in found
            if getattr(a, "id", None)
        }
        settled = 0
        for row in due:
            appointment = by_key.get(row.appointment_key)
            if appointment is not None:
                settled += self._settle_from(row, appointment)
        return settled

    def _settle_from(self, row: ChangeIntent, appointment: Any) -> int:
        """Decide from the EHR's copy whether ``row``'s write happened, and close it."""
        version = _version(appointment)
        if row.expected is None or (
            version == row.base_version and change_fingerprint(appointment) != row.expected
        ):
            state = NOT_WRITTEN  # no PUT was sent, or the EHR still holds the version read
        elif change_fingerprint(appointment) == row.expected:
            state = WRITTEN
        else:
            state = UNCONFIRMED
        if state != WRITTEN:
            with write_transaction(self._db) as session:
                if not self._settle(session, row.id, state, None):
                    return 0
            if state == NOT_WRITTEN:
                self._codewords.release(tenant=row.tenant_id, grant_id=row.grant_id)
            else:
                log.warning("change intent %s closed unconfirmed", row.id)
            return 1
        result = row.target_version or version
        intent = Intent(row.id, row.tenant_id,
                        Grant(row.grant_id, "", Action(row.action), str(appointment.id),
                              row.created_at),
                        row.staff, Action(row.action), str(appointment.id),
                        row.patient_pseudonym)  # fmt: skip
        with write_transaction(self._db) as session:
            if not self._settle(session, row.id, WRITTEN, result):
                return 0
            self._codewords.spend(session, tenant=row.tenant_id, grant_id=row.grant_id,
                                  result_version=result)  # fmt: skip
            self._record(session, intent, result, recovered=True)
        return 1

    # --- shared -------------------------------------------------------------------------------

    def _settle(self, session: Session, intent_id: str, state: str, version: str | None) -> bool:
        """``writing`` -> ``state``; False when another request settled it first."""
        changed = session.execute(
            update(ChangeIntent)
            .where(ChangeIntent.id == intent_id, ChangeIntent.state == WRITING)
            .values(state=state, result_version=version, settled_at=self._now())
            .execution_options(synchronize_session=False)
        )
        return getattr(changed, "rowcount", 0) == 1

    def _record(
        self, session: Session, intent: Intent, version: str | None, *, recovered: bool
    ) -> None:
        """The audit entry and the queued Provenance of a written change."""
        target = f"Appointment/{intent.appointment_id}"
        if version:
            target += f"/_history/{version}"
        key = self._codewords.appointment_key(intent.tenant, intent.appointment_id)
        detail: dict[str, str | int | bool] = {
            "stage": "written",
            "action": intent.action.value,
            "grant": intent.grant.id,
            "appointment": key[:16],
            "version": version or "",
        }
        if recovered:
            detail["recovered"] = True
        self._audit.record(
            AuditEvent(intent.tenant, intent.staff, AuditAction.APPOINTMENT_CHANGE,
                       subject=intent.subject, detail=detail),
            session=session,
        )  # fmt: skip
        resource = provenance_for(target, staff=intent.staff, grant_id=intent.grant.id,
                                  recorded=self._now(), action=intent.action)  # fmt: skip
        try:
            with session.begin_nested():
                self._outbox.enqueue(session, tenant=intent.tenant, resource=resource,
                                     identifier_value=target, created_by=intent.staff,
                                     patient_pseudonym=intent.subject,
                                     search_param="target")  # fmt: skip
        except IntegrityError:  # an EHR without versions: that target was queued already
            log.warning("Provenance for intent %s not queued: target already queued", intent.id)
