# SPDX-License-Identifier: Apache-2.0
"""Bypass detection: appointment changes made in the EHR without a code-word grant.

A pass reads the appointments the EHR changed since the last pass (``_lastUpdated``, with an
overlap so clock skew loses nothing), keeps only those of protected clients, and compares each
with the last state Quietline knew (:class:`AppointmentWatch`).  A change that matters - a new
time, a cancellation, other participants, or a booking when the protocol covers bookings - must
be explained by a grant used since that state was recorded; any other change alerts the treating
clinician and the practice admins and leaves an audit entry.  Check-in, arrival and completion
are ordinary workflow and are not changes.

A change made through Quietline whose record was interrupted (:mod:`plugin.codeword.intents`)
is completed from the pass's read of the appointment before it is judged, so it is explained
by its grant; a change still being written is judged on a later pass.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smart_launch.errors import SmartLaunchError
from smart_launch.fhir import FhirClient

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..store import Database
from .alerts import Alerter
from .intents import ChangeIntents
from .interfaces import Action
from .interfaces import AlertRecipient
from .models import AppointmentWatch
from .models import CodewordGrant
from .models import CodewordRow
from .models import ReconcileCursor
from .services import CodewordService

__all__ = ["ReconcileReport", "Reconciler", "fingerprint"]

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)
"""Each pass re-reads this much before the previous one's start: EHR and app clocks differ."""
FIRST_LOOKBACK = timedelta(days=1)
ACTIVE = frozenset(
    {"proposed", "pending", "booked", "arrived", "checked-in", "fulfilled", "noshow"}
)
"""Statuses that are one "still happening" state for change detection (workflow, not change)."""
PAGES = 20


@dataclass(frozen=True)
class ReconcileReport:
    tenant: str
    checked: int
    """Appointments of protected clients looked at."""
    bypasses: int


def _patients(appointment: Any) -> list[str]:
    found = []
    for participant in getattr(appointment, "participant", None) or []:
        reference = getattr(getattr(participant, "actor", None), "reference", None) or ""
        if reference.startswith("Patient/"):
            found.append(reference.removeprefix("Patient/"))
    return found


def fingerprint(appointment: Any) -> str:
    """SHA-256 over what a caller could change: time, cancelled or not, participants."""
    status = str(getattr(appointment, "status", "") or "")
    state = "active" if status in ACTIVE else status
    actors = sorted(
        getattr(getattr(p, "actor", None), "reference", None) or ""
        for p in getattr(appointment, "participant", None) or []
    )
    parts = [
        appointment.start.isoformat() if getattr(appointment, "start", None) else "",
        appointment.end.isoformat() if getattr(appointment, "end", None) else "",
        state,
        *actors,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _version(appointment: Any) -> str | None:
    meta = getattr(appointment, "meta", None)
    return str(meta.versionId) if meta is not None and meta.versionId else None


def _aware(value: datetime) -> datetime:
    """An EHR timestamp as an aware datetime (FHIR ``instant`` always has a zone; this guards
    an EHR that sends a bare ``dateTime``).  Stored columns are aware already (UtcDateTime)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Reconciler:
    """Runs bypass-detection passes.

    :param intents: Quietline's own changes being written, completed when interrupted.
    :param clients: a Backend Services FHIR client per tenant (``system/Appointment.rs``).
    :param clock: seconds since the epoch; tests inject another.
    """

    def __init__(
        self,
        db: Database,
        codewords: CodewordService,
        *,
        intents: ChangeIntents,
        alerter: Alerter,
        audit: AuditSink,
        clients: Callable[[str], FhirClient],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._codewords = codewords
        self._intents = intents
        self._alerter = alerter
        self._audit = audit
        self._clients = clients
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def tenants(self) -> list[str]:
        """Tenants with at least one enrolled client (the others need no pass)."""
        with self._db.session() as session:
            return sorted(set(session.scalars(select(CodewordRow.tenant_id)).all()))

    def baseline(self, fhir: FhirClient, tenant: str, patient_id: str) -> int:
        """Record the client's current appointments as known (at enrollment); returns how many."""
        appointments = fhir.search("Appointment", {"patient": patient_id, "_count": "100"})
        now = self._now()
        with self._db.session() as session:
            for appointment in appointments:
                self._remember(session, tenant, patient_id, appointment, now)
        return len(appointments)

    def run_all(self) -> list[ReconcileReport]:
        """One pass for every tenant with enrolled clients; a failing tenant does not stop the
        others (its cursor stays, so the next pass covers the same window)."""
        reports = []
        for tenant in self.tenants():
            try:
                reports.append(self.run_once(tenant))
            except SmartLaunchError as exc:
                log.warning("bypass check for tenant %s failed: %s", tenant, type(exc).__name__)
        return reports

    def run_once(self, tenant: str) -> ReconcileReport:
        """Check the appointments the tenant's EHR changed since the last pass.

        :raises SmartLaunchError: when the EHR cannot be read; nothing is recorded then.
        """
        started = self._now()
        with self._db.session() as session:
            cursor = session.get(ReconcileCursor, tenant)
            since = cursor.since if cursor else started - FIRST_LOOKBACK
        appointments = self._clients(tenant).search(
            "Appointment",
            [("_lastUpdated", f"ge{(since - OVERLAP).isoformat()}"), ("_count", "100")],
            max_pages=PAGES,
        )
        checked = bypasses = 0
        held = False
        for appointment in appointments:
            for patient_id in _patients(appointment):
                if not self._codewords.is_protected(tenant, patient_id):
                    continue
                checked += 1
                if self._being_written(tenant, appointment):
                    held = True
                    continue
                bypasses += self._check(tenant, patient_id, appointment)
        if held:  # the cursor stays, so the next pass judges that change once it is recorded
            return ReconcileReport(tenant, checked, bypasses)
        with self._db.session() as session:
            cursor = session.get(ReconcileCursor, tenant)
            if cursor is None:
                session.add(ReconcileCursor(tenant_id=tenant, since=started, updated_at=started))
            else:
                cursor.since = started
                cursor.updated_at = started
        return ReconcileReport(tenant, checked, bypasses)

    def _being_written(self, tenant: str, appointment: Any) -> bool:
        """Complete Quietline's own interrupted changes of ``appointment`` (from this read of
        it), then whether a change of it through Quietline is still being written."""
        self._intents.recover_seen(tenant, appointment)
        return self._intents.in_flight(tenant, str(appointment.id))

    def _check(self, tenant: str, patient_id: str, appointment: Any) -> int:
        """1 when ``appointment`` changed without a grant (and the alert is raised), else 0."""
        key = self._codewords.appointment_key(tenant, str(appointment.id))
        now = self._now()
        with self._db.session() as session:
            watch = session.scalars(
                select(AppointmentWatch).where(
                    AppointmentWatch.tenant_id == tenant, AppointmentWatch.appointment_key == key
                )
            ).one_or_none()
            current = fingerprint(appointment)
            if watch is not None and watch.fingerprint == current:
                watch.version_id = _version(appointment)
                return 0
            explained = self._explained(session, tenant, patient_id, key, watch, appointment)
            self._remember(session, tenant, patient_id, appointment, now)
            if explained:
                return 0
            status = self._codewords.status(tenant, patient_id)
            self._alerter.alert(
                session,
                tenant=tenant,
                patient_id=patient_id,
                kind="change-without-verification",
                clinician=status.treating_clinician,
                recipients=frozenset({AlertRecipient.CLINICIAN, AlertRecipient.ADMIN}),
                actor="system",
            )
            self._audit.record(
                AuditEvent(
                    tenant,
                    "system",
                    AuditAction.APPOINTMENT_BYPASS,
                    outcome="failure",
                    subject=self._codewords.pseudonym(tenant, patient_id),
                    detail={"appointment": key[:16], "version": _version(appointment) or ""},
                ),
                session=session,
            )
            return 1

    def _explained(  # noqa: PLR0917  (the facts one decision needs)
        self,
        session: Session,
        tenant: str,
        patient_id: str,
        key: str,
        watch: AppointmentWatch | None,
        appointment: Any,
    ) -> bool:
        """Whether a grant accounts for this change, or it is not a change that needs one."""
        since = watch.seen_at if watch is not None else None
        used = self._codewords.used_grants(tenant, str(appointment.id))
        if any(since is None or (g.used_at or g.issued_at) >= since for g in used):
            return True
        if watch is not None:
            return False
        # Never seen: a booking made since the client enrolled, or an appointment from before.
        enrolled_at = self._codewords.status(tenant, patient_id).enrolled_at
        protocol = self._codewords.policies.get(tenant)
        updated = getattr(getattr(appointment, "meta", None), "lastUpdated", None)
        new_booking = (
            enrolled_at is not None
            and _version(appointment) == "1"
            and updated is not None
            and _aware(updated) > enrolled_at
        )
        if not new_booking or Action.BOOK not in protocol.actions:
            return True
        return self._use_book_grant(session, tenant, patient_id, key)

    def _use_book_grant(self, session: Session, tenant: str, patient_id: str, key: str) -> bool:
        """Spend an open booking grant on this new appointment, if the client has one."""
        now = self._now()
        for grant in self._codewords.open_book_grants(tenant, patient_id):
            claimed = session.get(CodewordGrant, grant.id)
            if claimed is None or claimed.state != "issued" or claimed.expires_at <= now:
                continue
            claimed.state = "used"
            claimed.used_at = now
            claimed.appointment_key = key
            return True
        return False

    def _remember(
        self, session: Session, tenant: str, patient_id: str, appointment: Any, now: datetime
    ) -> None:
        key = self._codewords.appointment_key(tenant, str(appointment.id))
        watch = session.scalars(
            select(AppointmentWatch).where(
                AppointmentWatch.tenant_id == tenant, AppointmentWatch.appointment_key == key
            )
        ).one_or_none()
        if watch is None:
            watch = AppointmentWatch(
                tenant_id=tenant,
                appointment_key=key,
                patient_pseudonym=self._codewords.pseudonym(tenant, patient_id),
            )
            session.add(watch)
        watch.fingerprint = fingerprint(appointment)
        watch.version_id = _version(appointment)
        watch.seen_at = now

    def start_thread(self, stop: threading.Event, interval: float) -> threading.Thread:
        """Run passes every ``interval`` seconds until ``stop`` is set (the embedded default)."""

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.run_all()
                except Exception:  # a failed pass is retried next time; the error is logged
                    log.exception("bypass check pass failed")

        thread = threading.Thread(target=loop, name="quietline-reconcile", daemon=True)
        thread.start()
        return thread
