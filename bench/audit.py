# SPDX-License-Identifier: Apache-2.0
"""Benchmark: verify a 1,000,000-entry audit chain (budget 10 s).

Builds one tenant's chain in a fresh SQLite file by bulk insert with precomputed MACs (not
through ``record()``, which would take minutes of single-row transactions), then times
:func:`plugin.audit.verify_chain` end to end and prints JSON.

    .venv/bin/python bench/audit.py [--entries 1000000] [--path /tmp/audit-bench.db]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin.audit import AuditAction
from plugin.audit import verify_chain
from plugin.audit.models import AuditEntry
from plugin.audit.models import AuditHead
from plugin.audit.services import ZERO_MAC
from plugin.audit.services import ChainKeys
from plugin.audit.services import canonical
from plugin.audit.services import canonical_at
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Base
from plugin.store import Database

TENANT = "bench"
ACTOR = "http://127.0.0.1:8700/fhir/Practitioner/7"
ACTIONS = [AuditAction.VAULT_READ, AuditAction.VAULT_WRITE, AuditAction.NOTE_SIGN]
BATCH = 50_000


def build(db: Database, keys: ChainKeys, entries: int) -> None:
    """Insert ``entries`` chained rows and the head, in batches, on the raw connection."""
    Base.metadata.create_all(
        db.engine,
        tables=[
            Base.metadata.tables[name]
            for name in (AuditEntry.__tablename__, AuditHead.__tablename__)
        ],
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    raw = db.engine.raw_connection()
    cursor = raw.cursor()
    prev, batch = ZERO_MAC, []
    sql = (
        "INSERT INTO audit_entries (tenant_id, seq, at, actor, action, outcome, subject, "
        "detail, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for seq in range(1, entries + 1):
        at = start + timedelta(milliseconds=seq)
        action = ACTIONS[seq % len(ACTIONS)].value
        subject = f"{seq % 5000:064x}"
        detail = {"record": f"r-{seq}", "ok": True}
        body = canonical(seq, (canonical_at(at), ACTOR, action, "success", subject, detail))
        prev = keys.mac(TENANT, prev, body)
        stored_at = at.strftime("%Y-%m-%d %H:%M:%S.%f")
        batch.append(
            (
                TENANT,
                seq,
                stored_at,
                ACTOR,
                action,
                "success",
                subject,
                json.dumps(detail),
                prev.hex(),
            )
        )
        if len(batch) == BATCH:
            cursor.executemany(sql, batch)
            batch.clear()
    cursor.executemany(sql, batch)
    cursor.execute(
        "INSERT INTO audit_heads (tenant_id, seq, mac) VALUES (?, ?, ?)",
        (TENANT, entries, prev.hex()),
    )
    raw.commit()
    raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or Path(tmp) / "audit.db"
        path.unlink(missing_ok=True)
        provider = LocalKeyProvider(Path(tmp) / "keys.json")
        db = Database(f"sqlite:///{path}")
        started = time.perf_counter()
        build(db, ChainKeys(provider), args.entries)
        built = time.perf_counter() - started
        db.dispose()

        db = Database(f"sqlite:///{path}")
        started = time.perf_counter()
        report = verify_chain(db, provider, TENANT)
        seconds = time.perf_counter() - started
        db.dispose()
    if not report.ok or report.entries != args.entries:
        raise SystemExit(f"verification failed: {report.to_dict()['problems'][:5]}")
    print(
        json.dumps(
            {
                "entries": report.entries,
                "seconds": round(seconds, 3),
                "entries_per_s": round(report.entries / seconds),
                "build_seconds": round(built, 1),
                "budget_seconds": 10,
            }
        )
    )


if __name__ == "__main__":
    main()
