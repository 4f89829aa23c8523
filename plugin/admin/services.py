# SPDX-License-Identifier: Apache-2.0
"""What the admin audit page needs: filtered, paginated entries and a chain check."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import func
from sqlalchemy import select

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..audit.interfaces import CheckpointSink
from ..audit.models import AuditEntry
from ..audit.services import OUTCOMES
from ..audit.verify import VerifyReport
from ..audit.verify import verify_chain
from ..crypto.interfaces import KeyProvider
from ..store import Database

__all__ = ["PAGE_SIZE", "AuditAdmin", "AuditFilters", "AuditPage", "EntryRow"]

PAGE_SIZE = 50
ACTIONS = tuple(action.value for action in AuditAction)


@dataclass(frozen=True)
class AuditFilters:
    """The page's filters; empty strings and ``None`` mean "any"."""

    action: str = ""
    actor: str = ""
    outcome: str = ""
    subject: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> tuple[AuditFilters, list[str]]:
        """Parse query parameters; unusable values are dropped and explained in the list."""
        errors: list[str] = []
        action = args.get("action", "").strip()
        if action and action not in ACTIONS:
            errors.append("Choose an action from the list.")
            action = ""
        outcome = args.get("outcome", "").strip()
        if outcome and outcome not in OUTCOMES:
            errors.append("Choose an outcome from the list.")
            outcome = ""
        dates: dict[str, date | None] = {}
        for name, label in (("date_from", "From"), ("date_to", "To")):
            raw = args.get(name, "").strip()
            try:
                dates[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                errors.append(f"{label} date must look like 2026-01-31.")
                dates[name] = None
        return (
            cls(
                action=action,
                actor=args.get("actor", "").strip()[:500],
                outcome=outcome,
                subject=args.get("subject", "").strip()[:128],
                date_from=dates["date_from"],
                date_to=dates["date_to"],
            ),
            errors,
        )

    def query_args(self) -> dict[str, str]:
        """The non-empty filters as query parameters (for pagination links)."""
        values = {
            "action": self.action,
            "actor": self.actor,
            "outcome": self.outcome,
            "subject": self.subject,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {name: value for name, value in values.items() if value}

    def clauses(self, tenant: str) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [AuditEntry.tenant_id == tenant]
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.actor:
            found.append(AuditEntry.actor.contains(self.actor, autoescape=True))
        if self.outcome:
            found.append(AuditEntry.outcome == self.outcome)
        if self.subject:
            found.append(AuditEntry.subject == self.subject)
        if self.date_from:
            found.append(AuditEntry.at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            found.append(AuditEntry.at < end)
        return found


@dataclass(frozen=True)
class EntryRow:
    """One entry as the page shows it."""

    seq: int
    at: datetime
    actor: str
    action: str
    outcome: str
    subject: str | None
    detail: str


@dataclass(frozen=True)
class AuditPage:
    rows: tuple[EntryRow, ...]
    page: int
    pages: int
    total: int


def _row(entry: AuditEntry) -> EntryRow:
    at = entry.at  # UtcDateTime: always aware UTC
    detail = ", ".join(f"{name}={value}" for name, value in sorted(entry.detail.items()))
    return EntryRow(
        entry.seq,
        at.astimezone(UTC),
        entry.actor,
        entry.action,
        entry.outcome,
        entry.subject,
        detail,
    )


class AuditAdmin:
    """Reads the audit log for the admin page and runs the chain check."""

    def __init__(
        self,
        db: Database,
        sink: AuditSink,
        provider: KeyProvider,
        anchors: CheckpointSink | None = None,
    ) -> None:
        self._db = db
        self._sink = sink
        self._provider = provider
        self.anchors = anchors

    def anchored(self, anchors: CheckpointSink) -> AuditAdmin:
        """The same service, holding the chain against the checkpoints in ``anchors``."""
        return AuditAdmin(self._db, self._sink, self._provider, anchors)

    def page(self, tenant: str, filters: AuditFilters, page: int) -> AuditPage:
        """Entries newest first, :data:`PAGE_SIZE` per page; ``page`` is clamped to the range."""
        clauses = filters.clauses(tenant)
        with self._db.session() as session:
            total = int(
                session.scalar(select(func.count()).select_from(AuditEntry).where(*clauses)) or 0
            )
            pages = max(1, math.ceil(total / PAGE_SIZE))
            page = min(max(1, page), pages)
            entries = session.scalars(
                select(AuditEntry)
                .where(*clauses)
                .order_by(AuditEntry.seq.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
            rows = tuple(_row(entry) for entry in entries)
        return AuditPage(rows, page, pages, total)

    def verify(self, tenant: str, actor: str) -> VerifyReport:
        """Verify ``tenant``'s chain, then record the check (outcome ``failure`` on problems)."""
        report = verify_chain(self._db, self._provider, tenant, self.anchors)
        detail: dict[str, Any] = {
            "entries": report.entries,
            "checkpoints": report.checkpoints,
            "problems": len(report.problems),
        }
        self._sink.record(
            AuditEvent(
                tenant=tenant,
                actor=actor,
                action=AuditAction.AUDIT_VERIFY,
                outcome="success" if report.ok else "failure",
                detail=detail,
            )
        )
        return report
