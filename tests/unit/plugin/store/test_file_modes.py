# SPDX-License-Identifier: Apache-2.0
"""The SQLite database and its WAL files are private to their owner (mode 0600)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from plugin.store import Database
from plugin.store.db import sqlite_path


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable, as on many servers."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("loose_umask")
def test_new_database_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "quietline.db"
    path.parent.mkdir()
    db = Database(f"sqlite:///{path}")
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT x FROM t")).scalar_one() == 1
            wal = path.with_name(path.name + "-wal")
            shm = path.with_name(path.name + "-shm")
            assert wal.exists()
            assert shm.exists()
            assert {_mode(path), _mode(wal), _mode(shm)} == {0o600}
    finally:
        db.dispose()


@pytest.mark.usefixtures("loose_umask")
def test_existing_world_readable_files_are_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "quietline.db"
    first = Database(f"sqlite:///{path}")
    with first.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    first.dispose()
    path.chmod(0o644)
    wal = path.with_name(path.name + "-wal")
    wal.touch()
    wal.chmod(0o644)

    again = Database(f"sqlite:///{path}")
    try:
        with again.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            assert _mode(path) == 0o600
            assert _mode(wal) == 0o600
    finally:
        again.dispose()


def test_only_sqlite_files_have_a_path() -> None:
    assert sqlite_path("sqlite:///relative/q.db") == Path("relative/q.db")
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql+psycopg://u@h/db") is None
