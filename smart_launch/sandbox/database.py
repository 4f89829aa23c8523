# SPDX-License-Identifier: Apache-2.0
"""The sandbox's SQLite database: a small connection pool, WAL mode and the schema.

Readers run concurrently (WAL); every write runs in ``BEGIN IMMEDIATE`` so version numbers,
single-use codes and rotated refresh tokens are claimed atomically.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["Database"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    PRIMARY KEY (type, id)
);
CREATE TABLE IF NOT EXISTS resource_history (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    PRIMARY KEY (type, id, version)
);
CREATE TABLE IF NOT EXISTS resource_patients (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    patient TEXT NOT NULL,
    PRIMARY KEY (type, id, patient)
);
CREATE INDEX IF NOT EXISTS resource_patients_by_patient ON resource_patients (patient, type);
CREATE TABLE IF NOT EXISTS launches (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    patient TEXT NOT NULL,
    encounter TEXT,
    created_at REAL NOT NULL,
    app_context TEXT
);
CREATE TABLE IF NOT EXISTS auth_codes (
    code_hash TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    user_id TEXT NOT NULL,
    patient TEXT,
    encounter TEXT,
    nonce TEXT,
    code_challenge TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    created_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    app_context TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    access_hash TEXT PRIMARY KEY,
    refresh_hash TEXT UNIQUE,
    family TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT,
    patient TEXT,
    encounter TEXT,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    refresh_expires_at REAL,
    refresh_used INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_by_family ON tokens (family);
CREATE TABLE IF NOT EXISTS assertion_jti (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (client_id, jti)
);
"""
_ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("launches", "app_context"),
    ("auth_codes", "app_context"),
)
"""Columns added later: a database file made before them gets them when it is opened."""


class Database:
    """A pool of SQLite connections to one file.

    :param path: the database file; its parent directory is created when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        with self.connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            for table, column in _ADDED_COLUMNS:
                present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow an autocommit connection for reads or single statements."""
        if self._closed:
            raise sqlite3.ProgrammingError("The sandbox database is closed.")
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            yield conn
        finally:
            self._idle.put(conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        with self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def setting_or_create(self, name: str, make: Callable[[], str]) -> str:
        """Return the setting ``name``, storing ``make()`` first when it is absent."""
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return str(row["value"])
            value = make()
            conn.execute("INSERT INTO settings (name, value) VALUES (?, ?)", (name, value))
            return value

    def close(self) -> None:
        """Close every connection of the pool."""
        self._closed = True
        with self._lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
