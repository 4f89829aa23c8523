# SPDX-License-Identifier: Apache-2.0
"""The outbox worker: claims due items under a lease and delivers them to the EHR.

Delivery is a FHIR conditional create (https://hl7.org/fhir/R4/http.html#ccreate): "If-None-Exist
... One Match: The server ignores the post and returns 200 OK", so a redelivery after a crash,
a lost answer or an expired lease leaves exactly one resource in the EHR.  Claiming is a short
transaction of its own: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, an atomic
compare-and-set ``UPDATE`` on SQLite.  ``attempts`` counts claims; transient failures go back to
``pending`` with exponential backoff and jitter, errors the EHR will repeat (4xx) fail at once.

While the launch that queued a write is live, the write goes out with that user's own token
(:class:`~plugin.outbox.interfaces.UserClients`), so the EHR records the clinician as its
author.  Otherwise, or when the EHR refuses that token, it goes out with SMART Backend Services
(:func:`backend_client_factory`): the tenant's separately registered backend client, or the
launch client where the tenant allows it.  When no token can be had the item needs attention
(``needs_attention``) and waits for a person, instead of being retried silently.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from smart_launch import errors
from smart_launch.fhir import CreateResult

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..errors import SessionExpired
from ..store import Database
from .backend import DEFAULT_BACKEND_SCOPE
from .backend import backend_client_factory
from .interfaces import PayloadCipher
from .interfaces import ResourceCreator
from .interfaces import UserClients
from .interfaces import classify_failure
from .models import OutboxItem
from .models import OutboxStatus
from .sealed import identifier_of
from .sealed import launch_handle_of
from .sealed import seal_for_row
from .services import if_none_exist
from .services import payload_aad

__all__ = ["DEFAULT_BACKEND_SCOPE", "ClientFactory", "OutboxWorker", "backend_client_factory"]

ClientFactory = Callable[[str], ResourceCreator]
"""Tenant id -> a FHIR client for that tenant's EHR."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Claim:
    """What a worker needs from a row it holds the lease on."""

    row: OutboxItem
    token: str


class OutboxWorker:
    """Delivers due outbox items.

    :param db: the database holding ``outbox_items``.
    :param cipher: opens the sealed payloads.
    :param client_factory: tenant id -> FHIR client (production: :func:`backend_client_factory`).
    :param max_attempts: claims after which an item fails instead of going back to pending.
    :param base_delay: seconds before the second attempt; doubled for each further one.
    :param max_delay: cap on the backoff, in seconds.
    :param lease: seconds a claim lasts; an item whose lease ran out is claimed again.
    :param clock: seconds since the epoch (tests inject one to skip backoff without sleeping).
    :param jitter: a number in [0, 1) spreading retries (a system random source by default).
    :param audit: records each delivery and each final failure in the audit chain.
    :param user_clients: clients acting with the token of the launch that queued an item.
    """

    def __init__(
        self,
        db: Database,
        cipher: PayloadCipher,
        client_factory: ClientFactory,
        *,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        lease: float = 60.0,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] | None = None,
        audit: AuditSink | None = None,
        user_clients: UserClients | None = None,
    ) -> None:
        if max_attempts < 1 or base_delay <= 0 or max_delay < base_delay or lease <= 0:
            raise ValueError("Outbox worker timings must be positive and max_delay >= base_delay.")
        self._db = db
        self._cipher = cipher
        self._clients = client_factory
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self._clock = clock
        self._jitter = jitter or random.SystemRandom().random
        self._audit = audit
        self._users = user_clients

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt: half the capped
        exponential delay plus a random share of the other half."""
        delay = min(self.max_delay, self.base_delay * (1 << min(max(attempts - 1, 0), 62)))
        return delay / 2 + self._jitter() * delay / 2

    def run_once(self, limit: int = 50) -> int:
        """Claim and deliver due items, one claim at a time, until none is due or ``limit``
        items were handled.

        :returns: how many items were claimed (delivered, rescheduled or failed).
        """
        self._fail_abandoned()
        handled = 0
        while handled < limit:
            claim = self._claim()
            if claim is None:
                break
            self._deliver(claim)
            handled += 1
        return handled

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Run :meth:`run_once` until ``stop`` is set, waiting ``interval`` when idle.

        A failing run (database unreachable) is logged by type only and retried later.
        """
        while not stop.is_set():
            try:
                busy = self.run_once() > 0
            except Exception as exc:  # noqa: BLE001  (keep the loop alive; nothing is lost)
                log.error("Outbox worker run failed: %s", type(exc).__name__)  # noqa: TRY400
                busy = False
            if not busy:
                stop.wait(interval)

    def start_thread(self, stop: threading.Event, interval: float = 1.0) -> threading.Thread:
        """Run :meth:`run_forever` in a daemon thread (the embedded default)."""
        thread = threading.Thread(
            target=self.run_forever, args=(stop, interval), name="quietline-outbox", daemon=True
        )
        thread.start()
        return thread

    def _due(self, now: datetime) -> ColumnElement[bool]:
        pending = and_(
            OutboxItem.status == OutboxStatus.PENDING.value, OutboxItem.next_attempt_at <= now
        )
        abandoned = and_(
            OutboxItem.status == OutboxStatus.DELIVERING.value,
            OutboxItem.lease_until < now,
            OutboxItem.attempts < self.max_attempts,
        )
        return or_(pending, abandoned)

    def _claim(self) -> _Claim | None:
        now, token = self._now(), uuid.uuid4().hex
        lease = {
            "status": OutboxStatus.DELIVERING.value,
            "lease_until": now + timedelta(seconds=self.lease),
            "claim_token": token,
        }
        oldest = select(OutboxItem).where(self._due(now)).order_by(OutboxItem.next_attempt_at)
        if self._db.dialect == "postgresql":
            with self._db.session() as session:
                row = session.scalars(oldest.limit(1).with_for_update(skip_locked=True)).first()
                if row is None:
                    return None
                for name, value in lease.items():
                    setattr(row, name, value)
                row.attempts += 1
                return _Claim(row, token)
        while True:
            with self._db.session() as session:
                candidate = session.scalars(
                    oldest.with_only_columns(OutboxItem.id).limit(1)
                ).first()
            if candidate is None:
                return None
            with self._db.session() as session:
                result = session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == candidate, self._due(now))
                    .values(attempts=OutboxItem.attempts + 1, **lease)
                    .execution_options(synchronize_session=False)
                )
                if cast("Any", result).rowcount == 1:
                    return _Claim(session.get_one(OutboxItem, candidate), token)

    def _deliver(self, claim: _Claim) -> None:
        row = claim.row
        try:
            value = identifier_of(self._cipher, row)
            data = self._cipher.open(row.sealed_payload, aad=payload_aad(row, value))
            model = get_fhir_model_class(row.resource_type)
            resource = cast("Resource", model.model_validate_json(data))
            condition = if_none_exist(
                row.identifier_system, value, row.search_param or "identifier"
            )
            result = self._as_user(row, resource, condition)
            if result is None:
                result = self._clients(row.tenant_id).create(resource, if_none_exist=condition)
        except Exception as exc:  # noqa: BLE001  (every failure is recorded on the item)
            self._record_failure(claim, exc)
            return
        remote_id = str(result.versioned.resource.id or "")
        self._settle(
            claim,
            status=OutboxStatus.DELIVERED.value,
            delivered_at=self._now(),
            remote_id=None,
            remote_id_sealed=seal_for_row(self._cipher, row.id, "remote_id", remote_id),
            identifier_value=None,  # the conditional create is done; the hash stays
            last_error_code=None,
            sealed_payload=b"",  # the EHR holds the note now; keep no second copy
        )

    def _as_user(self, row: OutboxItem, resource: Resource, condition: str) -> CreateResult | None:
        """Create with the token of the launch that queued ``row`` while it is live.

        ``None`` when there is no such launch or it cannot write this resource, and when the
        EHR refuses the user's token (the launch ended meanwhile, or its scopes fall short):
        the caller then uses Backend Services.  The conditional create keeps a retry with the
        other client idempotent.
        """
        handle = launch_handle_of(self._cipher, row) if self._users is not None else None
        if handle is None or self._users is None:
            return None
        client = self._users.for_launch(handle, row.tenant_id, resource)
        if client is None:
            return None
        try:
            return client.create(resource, if_none_exist=condition)
        except (SessionExpired, errors.FhirUnauthorized) as exc:
            log.info("Outbox item %s: user token refused (%s).", row.id, type(exc).__name__)
            return None

    def _record_failure(self, claim: _Claim, exc: Exception) -> None:
        code, disposition = classify_failure(exc)
        attempts = claim.row.attempts
        log.warning(
            "Outbox item %s: attempt %d failed with %s (%s).",
            claim.row.id,
            attempts,
            code,
            type(exc).__name__,
        )
        if disposition == "attention":
            status = OutboxStatus.NEEDS_ATTENTION.value
            self._settle(claim, status=status, last_error_code=code)
        elif disposition == "retry" and attempts < self.max_attempts:
            due = self._now() + timedelta(seconds=self.backoff(attempts))
            status = OutboxStatus.PENDING.value
            self._settle(claim, status=status, next_attempt_at=due, last_error_code=code)
        else:
            self._settle(claim, status=OutboxStatus.FAILED.value, last_error_code=code)

    def _settle(self, claim: _Claim, **values: object) -> None:
        """Record the outcome, but only while the claim is still ours (the lease may have run
        out and another worker taken the item over; its outcome then stands)."""
        with self._db.session() as session:
            result = session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id == claim.row.id,
                    OutboxItem.claim_token == claim.token,
                    OutboxItem.status == OutboxStatus.DELIVERING.value,
                )
                .values(lease_until=None, claim_token=None, **values)
                .execution_options(synchronize_session=False)
            )
            if cast("Any", result).rowcount != 1:
                log.warning(
                    "Outbox item %s: lease lost before the outcome was recorded.", claim.row.id
                )
                return
            self._audit_outcome(session, claim.row, values)

    def _audit_outcome(self, session: Session, row: OutboxItem, values: dict[str, object]) -> None:
        status = values.get("status")
        if self._audit is None or status == OutboxStatus.PENDING.value:
            return
        delivered = status == OutboxStatus.DELIVERED.value
        detail: dict[str, str | int | bool] = {"item": row.id, "type": row.resource_type}
        if not delivered:
            detail["code"] = str(values.get("last_error_code") or "unknown")
        self._audit.record(
            AuditEvent(
                row.tenant_id,
                "system",
                AuditAction.EHR_WRITE_DELIVERED if delivered else AuditAction.EHR_WRITE_FAILED,
                outcome="success" if delivered else "failure",
                subject=row.patient_pseudonym,
                detail=detail,
            ),
            session=session,
        )

    def _fail_abandoned(self) -> None:
        """Fail items whose last allowed attempt died with its worker (lease ran out)."""
        with self._db.session() as session:
            session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.status == OutboxStatus.DELIVERING.value,
                    OutboxItem.lease_until < self._now(),
                    OutboxItem.attempts >= self.max_attempts,
                )
                .values(
                    status=OutboxStatus.FAILED.value,
                    lease_until=None,
                    claim_token=None,
                    last_error_code="lease_expired",
                )
                .execution_options(synchronize_session=False)
            )
