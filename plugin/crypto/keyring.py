# SPDX-License-Identifier: Apache-2.0
"""Per-tenant, per-retention-period key-encryption keys: creation, rotation, shredding, expiry.

Every vault record's data key is wrapped under the key of the month its retention ends
(``q/<tenant>/p/<YYYY-MM>/v<n>``).  Those keys live only in the key provider, so destroying one
there makes every data key wrapped under it unrecoverable, in the live database and in any
copy or backup of it.  Rotation and single-record shredding move the *other* rows to a new
version first, one row at a time, so every row is always under a key that exists.

Limit: a writer that obtained a label, wrapped under it and inserts its row only after the
final re-wrap pass of a rotation (a window of milliseconds) leaves a row under a destroyed key.
Writers should insert within the transaction that called :meth:`Keyring.label_for` and treat
:class:`KeyDestroyed` from ``wrap`` as "ask for the label again".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..store.db import Database
from .envelope import as_key
from .interfaces import KeyProvider
from .interfaces import KeyProviderError
from .interfaces import KeyProviderUnavailable
from .interfaces import WrappedKeyStore
from .models import KekVersion

__all__ = ["KekStatus", "Keyring", "RotationReport", "ShredReport", "period_end", "period_of"]

_ATTEMPTS = 20
_PASSES = 5
SYSTEM = "system"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period_of(moment: datetime) -> str:
    """``YYYY-MM`` of ``moment`` in UTC (naive datetimes are taken as UTC)."""
    return _utc(moment).strftime("%Y-%m")


def period_end(period: str) -> datetime:
    """The first instant after the month ``period`` (``YYYY-MM``), UTC."""
    year, month = (int(part) for part in period.split("-"))
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KekStatus:
    """One row of ``quietline keys status``; ``in_provider`` shows drift from the provider."""

    tenant: str
    period: str
    version: int
    label: str
    state: str
    created_at: datetime
    destroyed_at: datetime | None
    in_provider: bool


@dataclass
class RotationReport:
    """What :meth:`Keyring.rotate` did: ``(old, new)`` pairs and row counts."""

    rotated: list[tuple[str, str]] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    rewrapped: int = 0
    skipped: int = 0
    unreadable: int = 0


@dataclass(frozen=True)
class ShredReport:
    """What :meth:`Keyring.shred_record` did."""

    destroyed_label: str
    new_label: str | None
    rewrapped: int


class Keyring:
    """Manages ``kek_versions`` and the matching keys in the provider.

    :param db: the database holding ``kek_versions``.
    :param provider: holds the keys.
    :param audit: optional sink; every create, rotate and destroy is recorded.
    """

    def __init__(self, db: Database, provider: KeyProvider, audit: AuditSink | None = None) -> None:
        self.db = db
        self.provider = provider
        self.audit = audit

    def _record(self, tenant: str, actor: str, action: AuditAction, **detail: str | int) -> None:
        if self.audit is not None:
            self.audit.record(AuditEvent(tenant=tenant, actor=actor, action=action, detail=detail))

    def _rows(self, *states: str, tenant: str | None = None) -> list[KekVersion]:
        query = select(KekVersion).order_by(
            KekVersion.tenant_id, KekVersion.period, KekVersion.version
        )
        if states:
            query = query.where(KekVersion.state.in_(states))
        if tenant is not None:
            query = query.where(KekVersion.tenant_id == tenant)
        with self.db.session() as session:
            return list(session.scalars(query))

    def _active(self, tenant: str, period: str) -> str | None:
        query = select(KekVersion.label).where(
            KekVersion.tenant_id == tenant,
            KekVersion.period == period,
            KekVersion.state == "active",
        )
        with self.db.session() as session:
            return session.scalars(query).first()

    def _new_version(self, tenant: str, period: str, actor: str, *, replace: str | None) -> str:
        """Create the next version and make it active, retiring the active one.

        With ``replace=None`` (first use) an active version created meanwhile by someone else is
        returned instead; with ``replace=label`` one that is no longer ``label`` is.
        """
        for attempt in range(_ATTEMPTS):
            try:
                with self.db.session() as session:
                    rows = list(
                        session.scalars(
                            select(KekVersion).where(
                                KekVersion.tenant_id == tenant, KekVersion.period == period
                            )
                        )
                    )
                    active = [row for row in rows if row.state == "active"]
                    if active and active[0].label != replace:
                        return active[0].label  # another process got there first
                    for row in active:
                        row.state = "retired"
                    session.flush()
                    version = max((row.version for row in rows), default=0) + 1
                    label = f"q/{tenant}/p/{period}/v{version}"
                    session.add(
                        KekVersion(tenant_id=tenant, period=period, version=version, label=label)
                    )
                    session.flush()  # takes the unique-constraint lock before the provider call
                    if not self.provider.has_key(label):  # a crashed attempt may have left it
                        self.provider.create_key(label, "aes")
            except (IntegrityError, OperationalError):
                time.sleep(0.005 * (attempt + 1))
                continue
            self._record(tenant, actor, AuditAction.KEY_CREATE, label=label, period=period)
            return label
        raise KeyProviderError(
            f"Could not create a key for {tenant} {period}: database contention."
        )

    def label_for(self, tenant: str, expires_at: datetime, *, actor: str = SYSTEM) -> str:
        """The active key label of the retention period holding ``expires_at``.

        :param tenant: the tenant id (no ``/``).
        :param expires_at: when the record's retention ends.
        :raises KeyProviderError: when the key cannot be created.
        """
        if "/" in tenant or not tenant:
            raise KeyProviderError(f"Invalid tenant id {tenant!r} for a key label.")
        period = period_of(expires_at)
        return self._active(tenant, period) or self._new_version(
            tenant, period, actor, replace=None
        )

    def _move(
        self,
        stores: Sequence[WrappedKeyStore],
        old: str,
        new: str,
        report: RotationReport,
        exclude: str | None = None,
    ) -> None:
        """Re-wrap every row under ``old`` to ``new`` (except ``exclude``), row by row."""
        passed = {exclude} if exclude is not None else set()
        for _ in range(_PASSES):
            pending = [
                (store, row_id, wrapped)
                for store in stores
                for row_id, wrapped in store.wrapped_keys(old)
                if row_id not in passed
            ]
            if not pending:
                return
            for store, row_id, wrapped in pending:
                try:
                    dek = bytearray(self.provider.unwrap(old, wrapped))
                except KeyProviderUnavailable:
                    raise  # stop: nothing is destroyed
                except KeyProviderError:
                    report.unreadable += 1  # already unrecoverable: nothing to preserve
                    passed.add(row_id)
                    continue
                try:
                    rewrapped = self.provider.wrap(new, as_key(dek))
                finally:
                    dek[:] = bytes(len(dek))
                if store.replace_wrapped_key(row_id, old, new, rewrapped):
                    report.rewrapped += 1
                else:
                    report.skipped += 1
        raise KeyProviderError(f"Rows keep appearing under {old}; it was not destroyed. Re-run.")

    def _destroy(self, row_id: int, actor: str, **detail: str | int) -> str:
        with self.db.session() as session:
            row = session.get_one(KekVersion, row_id)
            self.provider.destroy_key(row.label)
            row.state, row.destroyed_at = "destroyed", datetime.now(UTC)
            label, tenant = row.label, row.tenant_id
        self._record(tenant, actor, AuditAction.KEY_DESTROY, label=label, **detail)
        return label

    def rotate(
        self, stores: Sequence[WrappedKeyStore], tenant: str | None = None, *, actor: str = SYSTEM
    ) -> RotationReport:
        """Replace every live period key with a new version; re-wrap rows; destroy the old ones.

        Versions left ``retired`` by an interrupted rotation are finished too.

        :param stores: every table holding wrapped data keys.
        :param tenant: only this tenant's keys (all tenants when None).
        :raises KeyProviderUnavailable: when the provider fails; nothing is destroyed then.
        """
        report = RotationReport()
        periods: dict[tuple[str, str], list[KekVersion]] = {}
        for row in self._rows("active", "retired", tenant=tenant):
            periods.setdefault((row.tenant_id, row.period), []).append(row)
        for (owner, period), rows in periods.items():
            active = next((row.label for row in rows if row.state == "active"), None)
            new = self._new_version(owner, period, actor, replace=active)
            for row in rows:
                before = report.rewrapped
                self._move(stores, row.label, new, report)
                report.rotated.append((row.label, new))
                self._record(
                    owner,
                    actor,
                    AuditAction.KEY_ROTATE,
                    label=row.label,
                    new_label=new,
                    rows=report.rewrapped - before,
                )
                report.destroyed.append(self._destroy(row.id, actor, reason="rotated"))
        return report

    def shred_record(
        self, stores: Sequence[WrappedKeyStore], label: str, row_id: str, *, actor: str = SYSTEM
    ) -> ShredReport:
        """Crypto-shred one record: move the other rows under ``label`` away, destroy ``label``.

        Afterwards the record's wrapped data key opens under no existing key, including a copy
        of it taken before the shred.  Delete (or mark deleted) the record's row *before*
        calling this, so an interrupted shred finished later by :meth:`rotate` cannot move it.

        :param stores: every table holding wrapped data keys.
        :param label: the key the record's data key is wrapped under.
        :param row_id: the record's row id in its store.
        :raises KeyProviderError: for an unknown label.
        """
        with self.db.session() as session:
            row = session.scalars(select(KekVersion).where(KekVersion.label == label)).first()
            if row is None:
                raise KeyProviderError(f"Unknown key label {label}.")
            if row.state == "destroyed":
                return ShredReport(label, None, 0)
            tenant, period, state, key_id = row.tenant_id, row.period, row.state, row.id
        new = self._active(tenant, period) if state == "retired" else None
        if new is None:
            new = self._new_version(tenant, period, actor, replace=label)
        report = RotationReport()
        self._move(stores, label, new, report, exclude=row_id)
        self._destroy(key_id, actor, reason="shred", new_label=new, rows=report.rewrapped)
        return ShredReport(label, new, report.rewrapped)

    def expire(
        self, now: datetime, stores: Sequence[WrappedKeyStore], *, actor: str = SYSTEM
    ) -> list[str]:
        """Destroy every version of every period key whose month ended before ``now``.

        :param now: the current time.
        :param stores: used to count the rows each destroyed key made unreadable (audit detail).
        :returns: the destroyed labels; the caller deletes the rows and audits the records.
        """
        destroyed = []
        for row in self._rows("active", "retired"):
            if period_end(row.period) <= _utc(now):
                rows = sum(len(store.wrapped_keys(row.label)) for store in stores)
                destroyed.append(self._destroy(row.id, actor, reason="expired", rows=rows))
        return destroyed

    def status(self, tenant: str | None = None) -> list[KekStatus]:
        """Every key version with its state and whether the provider still holds it.

        :param tenant: only this tenant (all when None).
        """
        labels = set(self.provider.labels("q/"))
        return [
            KekStatus(
                row.tenant_id,
                row.period,
                row.version,
                row.label,
                row.state,
                row.created_at,
                row.destroyed_at,
                row.label in labels,
            )
            for row in self._rows(tenant=tenant)
        ]
