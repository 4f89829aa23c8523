# SPDX-License-Identifier: Apache-2.0
"""Vault write and read through ``VaultService`` against raw AES-GCM on the same database.

The vault side is the service as ``create_app`` wires it: a ``LocalKeyProvider``, the keyring
(retention-period key look-up), the pseudonymizer, the ORM and the audit chain.  A write is
``put`` in a committed session; a read is ``read`` as the record's author, which appends an
audit entry, so it is a write transaction too.

The baseline is AES-256-GCM under one fixed key with a plain INSERT (committed) or SELECT of the
nonce and ciphertext, through the same SQLAlchemy engine, on the same JSON payload.

The four operations are interleaved in every round (the order rotates), each round times
``--iterations`` calls of each, and the figure per operation is the median over the rounds.
The ratios are printed first, then the absolute figures with the load average before and after.

Usage: ``python bench/vault.py [--iterations N] [--rounds R] [--database-url URL]``
(default: SQLite in a temporary folder, WAL and ``synchronous=NORMAL`` as the app runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin.audit.services import SqlAuditLog
from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.keyring import Keyring
from plugin.crypto.local import LocalKeyProvider
from plugin.crypto.pseudonyms import Pseudonymizer
from plugin.store import Database
from plugin.tenants.models import Tenant
from plugin.vault.services import RetentionPolicy
from plugin.vault.services import VaultService

SIZES = {"1KiB": 1024, "64KiB": 64 * 1024}
AUTHOR = "Practitioner/bench"
PATIENT = "bench-patient"
BUDGET = 2.0

_raw = Table(
    "bench_raw_vault",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)


class Bench:
    """The service and the baseline on one database; one tenant of its own per run."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.db = Database(database_url)
        self.db.upgrade()
        self.tenant = f"bench-{uuid.uuid4().hex[:12]}"
        with self.db.session() as session:
            session.add(
                Tenant(id=self.tenant, name="Bench", iss=f"https://{self.tenant}.example/fhir",
                       client_id="q", auth_method="private_key_jwt", signing_alg="RS384",
                       scope="launch", frame_origins=[], role_mapping={}, retention={},
                       confidentiality="R")
            )  # fmt: skip
        provider = LocalKeyProvider(folder / "keys.json")
        audit = SqlAuditLog(self.db, provider)
        self.vault = VaultService(
            self.db,
            EnvelopeCipher(provider),
            Keyring(self.db, provider, audit),
            Pseudonymizer(provider),
            audit,
            lambda _tenant: RetentionPolicy(),
        )
        self.aead = AESGCM(secrets.token_bytes(32))
        self.aad = f"{self.tenant}|raw|process-note".encode()
        _raw.create(self.db.engine, checkfirst=True)
        self.raw_ids = iter(range(secrets.randbelow(2**30), 2**31))

    def vault_write(self, content: dict[str, Any]) -> str:
        with self.db.session() as session:
            return self.vault.put(
                session,
                tenant=self.tenant,
                patient_id=PATIENT,
                record_type="process-note",
                author=AUTHOR,
                content=content,
            )

    def vault_read(self, record_id: str) -> dict[str, Any]:
        return self.vault.read(
            tenant=self.tenant, patient_id=PATIENT, record_id=record_id, actor=AUTHOR
        )

    def raw_write(self, content: dict[str, Any]) -> int:
        key = next(self.raw_ids)
        nonce = secrets.token_bytes(12)
        blob = self.aead.encrypt(
            nonce, json.dumps(content, separators=(",", ":")).encode(), self.aad
        )
        with self.db.engine.begin() as conn:
            conn.execute(insert(_raw).values(id=key, nonce=nonce, ciphertext=blob))
        return key

    def raw_read(self, key: int) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            nonce, blob = conn.execute(
                select(_raw.c.nonce, _raw.c.ciphertext).where(_raw.c.id == key)
            ).one()
        return dict(json.loads(self.aead.decrypt(nonce, blob, self.aad)))

    def close(self) -> None:
        """Drop the baseline's rows and table; the vault rows stay with the bench tenant."""
        with self.db.engine.begin() as conn:
            conn.execute(delete(_raw))
        _raw.drop(self.db.engine, checkfirst=True)
        self.db.dispose()


def _per_op_us(operation: Callable[[], object], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        operation()
    return (time.perf_counter() - start) / iterations * 1e6


def measure(bench: Bench, size: int, iterations: int, rounds: int) -> dict[str, float]:
    content = {"text": "x" * (size - 11)}  # about ``size`` bytes of JSON
    record_id = bench.vault_write(content)
    raw_key = bench.raw_write(content)
    if bench.vault_read(record_id) != content or bench.raw_read(raw_key) != content:
        msg = "round trip failed"
        raise RuntimeError(msg)
    operations: dict[str, Callable[[], object]] = {
        "vault_write_us": lambda: bench.vault_write(content),
        "raw_write_us": lambda: bench.raw_write(content),
        "vault_read_us": lambda: bench.vault_read(record_id),
        "raw_read_us": lambda: bench.raw_read(raw_key),
    }
    samples: dict[str, list[float]] = {name: [] for name in operations}
    names = list(operations)
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_per_op_us(operations[name], iterations))
    return {name: statistics.median(values) for name, values in samples.items()}


def run(database_url: str | None, iterations: int, rounds: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        bench = Bench(url, Path(folder))
        try:
            results: dict[str, Any] = {}
            for name, size in SIZES.items():
                figures = measure(bench, size, iterations, rounds)
                write = figures["vault_write_us"] / figures["raw_write_us"]
                read = figures["vault_read_us"] / figures["raw_read_us"]
                results[name] = {
                    "write_ratio": round(write, 2),
                    "read_ratio": round(read, 2),
                    "within_budget": write <= BUDGET and read <= BUDGET,
                    **{key: round(value, 1) for key, value in figures.items()},
                }
        finally:
            bench.close()
    return {
        "database": url.split(":", 1)[0],
        "iterations": iterations,
        "rounds": rounds,
        "budget_ratio": BUDGET,
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "sizes": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200, help="calls per operation per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (at least 3)")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    report = run(args.database_url, args.iterations, max(args.rounds, 3))
    for name, figures in report["sizes"].items():
        print(f"{name}: write {figures['write_ratio']}x, read {figures['read_ratio']}x "
              f"(vault / raw AES-GCM, {report['database']}, budget {BUDGET}x)")  # fmt: skip
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
