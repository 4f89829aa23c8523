# SPDX-License-Identifier: Apache-2.0
"""Helpers for the audit tests (plain functions) and the worker the process test spawns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from plugin.audit import AuditAction
from plugin.audit import AuditEvent
from plugin.audit import AuditSink
from plugin.audit import SqlAuditLog
from plugin.audit.models import AuditEntry
from plugin.audit.models import AuditHead
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Base
from plugin.store import Database

ACTOR = "http://127.0.0.1:8700/fhir/Practitioner/7"


def create_audit_tables(db: Database) -> None:
    """The audit tables, until the migration that creates them lands (then a no-op)."""
    Base.metadata.create_all(
        db.engine,
        tables=[
            Base.metadata.tables[name]
            for name in (AuditEntry.__tablename__, AuditHead.__tablename__)
        ],
    )


def event(n: int = 0, *, tenant: str = "ehr", **overrides: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "tenant": tenant,
        "actor": ACTOR,
        "action": AuditAction.VAULT_READ,
        "subject": f"ps-{n % 3}",
        "detail": {"record": f"rec-{n}", "n": n, "ok": True},
    }
    values.update(overrides)
    return AuditEvent(**values)


def fill(log: AuditSink, count: int, *, tenant: str = "ehr") -> None:
    for n in range(1, count + 1):
        log.record(event(n, tenant=tenant))


def sql(db: Database, statement: str, **params: Any) -> None:
    """Tamper as a database superuser would: on PostgreSQL, past the append-only trigger."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(statement), params)


_CUT_TAIL = "DELETE FROM audit_entries WHERE tenant_id = :t AND seq > :s"
_HEAD_BACK = (
    "UPDATE audit_heads SET seq = :s, mac = (SELECT mac FROM audit_entries "
    "WHERE tenant_id = :t AND seq = :s) WHERE tenant_id = :t"
)


def roll_back_to(db: Database, seq: int, tenant: str = "ehr") -> None:
    """Cut ``tenant``'s chain after ``seq`` and point its head at entry ``seq``: the cut chain
    still links, so only a checkpoint can tell."""
    for statement in (_CUT_TAIL, _HEAD_BACK):
        sql(db, statement, t=tenant, s=seq)


def seqs(db: Database, tenant: str = "ehr") -> list[int]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq FROM audit_entries WHERE tenant_id = :t ORDER BY seq"), {"t": tenant}
        )
        return [int(row[0]) for row in rows]


def append_in_process(url: str, key_file: Path, worker: int, count: int, barrier: Any) -> None:
    """Runs in a spawned process: its own engine and key provider on the same files."""
    db = Database(url)
    log = SqlAuditLog(db, LocalKeyProvider(key_file))
    barrier.wait(timeout=60)
    for n in range(count):
        log.record(event(n, detail={"worker": worker, "n": n}))
    db.dispose()
