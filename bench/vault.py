# SPDX-License-Identifier: Apache-2.0
"""Vault write and read through EnvelopeCipher (LocalKeyProvider) against raw AES-GCM.

Two comparisons, both printed:

* ``crypto``: seal (fresh data key, AES-256-GCM, wrap of the data key) and unwrap + open, against
  one fixed AES-256-GCM key on the same payloads and associated data.  This isolates the fixed
  per-record cost of envelope encryption (about 7 us).
* ``stored``: the operation as the vault performs it - seal and INSERT the row (commit), SELECT
  the row and open - against raw AES-GCM with the same INSERT and SELECT on the same SQLite
  database (WAL, synchronous=NORMAL, as the app runs it).  Budget: within 2x.

Usage: ``python bench/vault.py [--iterations N]``
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.envelope import RecordAad
from plugin.crypto.envelope import Sealed
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database

SIZES = {"1KiB": 1024, "64KiB": 64 * 1024}
LABEL = "q/bench/p/2031-05/v1"
BUDGET = 2.0


def _per_op_us(operation: Callable[[], object], iterations: int) -> float:
    """Best of five runs of ``iterations`` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(iterations):
            operation()
        best = min(best, time.perf_counter() - start)
    return best / iterations * 1e6


def _raw_write(aead: AESGCM, payload: bytes, aad: bytes) -> bytes:
    return aead.encrypt(secrets.token_bytes(12), payload, aad)


def run(iterations: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        provider = LocalKeyProvider(Path(folder) / "keys.json")
        provider.create_key(LABEL)
        cipher = EnvelopeCipher(provider)
        aad = RecordAad("bench", "rec-1", "process_note", "ab" * 32)
        aad_bytes = aad.to_bytes()
        raw = AESGCM(secrets.token_bytes(32))
        results: dict[str, object] = {}
        for name, size in SIZES.items():
            payload = secrets.token_bytes(size)
            sealed = cipher.seal(payload, kek_label=LABEL, aad=aad)
            nonce = secrets.token_bytes(12)
            blob = raw.encrypt(nonce, payload, aad_bytes)
            figures = {
                "envelope_write_us": _per_op_us(
                    partial(cipher.seal, payload, kek_label=LABEL, aad=aad), iterations
                ),
                "envelope_read_us": _per_op_us(partial(cipher.open, sealed, aad=aad), iterations),
                "raw_write_us": _per_op_us(
                    partial(_raw_write, raw, payload, aad_bytes), iterations
                ),
                "raw_read_us": _per_op_us(partial(raw.decrypt, nonce, blob, aad_bytes), iterations),
            }
            write = figures["envelope_write_us"] / figures["raw_write_us"]
            read = figures["envelope_read_us"] / figures["raw_read_us"]
            results[name] = {
                **{key: round(value, 2) for key, value in figures.items()},
                "write_overhead_us": round(
                    figures["envelope_write_us"] - figures["raw_write_us"], 2
                ),
                "read_overhead_us": round(figures["envelope_read_us"] - figures["raw_read_us"], 2),
                "write_ratio": round(write, 2),
                "read_ratio": round(read, 2),
                "within_budget": write <= BUDGET and read <= BUDGET,
            }
    return {"iterations": iterations, "budget_ratio": BUDGET, "crypto": results}


def _store(conn: Any, table: str, key: int, columns: tuple[bytes, ...]) -> None:
    marks = ", ".join("?" for _ in columns)
    conn.execute(f"INSERT INTO {table} VALUES (?, {marks})", (key, *columns))
    conn.commit()


def run_stored(iterations: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        provider = LocalKeyProvider(Path(folder) / "keys.json")
        provider.create_key(LABEL)
        cipher = EnvelopeCipher(provider)
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        conn = database.engine.raw_connection()
        conn.execute("CREATE TABLE vault (id INTEGER PRIMARY KEY, w BLOB, n BLOB, c BLOB)")
        conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, n BLOB, c BLOB)")
        conn.commit()
        aad = RecordAad("bench", "rec-1", "process_note", "ab" * 32)
        aad_bytes = aad.to_bytes()
        raw = AESGCM(secrets.token_bytes(32))
        counter = iter(range(1, 10**9))
        results: dict[str, object] = {}

        def vault_write(payload: bytes) -> None:
            sealed = cipher.seal(payload, kek_label=LABEL, aad=aad)
            _store(
                conn, "vault", next(counter), (sealed.wrapped_dek, sealed.nonce, sealed.ciphertext)
            )

        def raw_write(payload: bytes) -> None:
            nonce = secrets.token_bytes(12)
            _store(conn, "raw", next(counter), (nonce, raw.encrypt(nonce, payload, aad_bytes)))

        def vault_read(key: int) -> bytes:
            w, n, c = conn.execute("SELECT w, n, c FROM vault WHERE id = ?", (key,)).fetchone()
            return cipher.open(Sealed(LABEL, w, n, c), aad=aad)

        def raw_read(key: int) -> bytes:
            n, c = conn.execute("SELECT n, c FROM raw WHERE id = ?", (key,)).fetchone()
            return raw.decrypt(n, c, aad_bytes)

        for name, size in SIZES.items():
            payload = secrets.token_bytes(size)
            vault_write(payload)
            vault_key = int(conn.execute("SELECT max(id) FROM vault").fetchone()[0])
            raw_write(payload)
            raw_key = int(conn.execute("SELECT max(id) FROM raw").fetchone()[0])
            figures = {
                "vault_write_us": _per_op_us(partial(vault_write, payload), iterations),
                "raw_write_us": _per_op_us(partial(raw_write, payload), iterations),
                "vault_read_us": _per_op_us(partial(vault_read, vault_key), iterations),
                "raw_read_us": _per_op_us(partial(raw_read, raw_key), iterations),
            }
            write = figures["vault_write_us"] / figures["raw_write_us"]
            read = figures["vault_read_us"] / figures["raw_read_us"]
            results[name] = {
                **{key: round(value, 2) for key, value in figures.items()},
                "write_ratio": round(write, 2),
                "read_ratio": round(read, 2),
                "within_budget": write <= BUDGET and read <= BUDGET,
            }
        conn.close()
        database.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    report = run(args.iterations)
    report["stored"] = run_stored(max(args.iterations // 10, 50))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
