# SPDX-License-Identifier: Apache-2.0
"""Engine and session handling, and running the Alembic migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import make_url
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

__all__ = ["FILE_MODE", "Database", "alembic_config", "sqlite_path"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
FILE_MODE = 0o600
"""The SQLite database, its ``-wal`` and its ``-shm`` are readable by their owner only."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; ``None`` for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_private(path: Path) -> None:
    """Create ``path`` with mode 0600 (or narrow an existing file to it) before SQLite opens it.

    SQLite creates the ``-wal`` and ``-shm`` files with the mode of the database file, so they
    follow; :func:`_narrow` re-applies the mode to all three on every new connection.
    """
    if not path.parent.is_dir():
        return  # SQLite reports the missing folder itself, as it would without us
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    os.close(descriptor)
    _narrow(path)


def _narrow(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if candidate.stat().st_mode & 0o777 != FILE_MODE:
                candidate.chmod(FILE_MODE)
        except FileNotFoundError:
            continue


def _sqlite_pragmas(path: Path | None, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit survives an application crash; only an OS crash or power loss
    # can lose the last transactions.  FULL would fsync on every commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    if path is not None:
        _narrow(path)


class Database:
    """One engine per app.  ``session()`` yields a session committed on success."""

    def __init__(self, url: str) -> None:
        self.url = _driver_url(url)
        kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
        path = sqlite_path(self.url)
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
            if path is not None:
                _create_private(path)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", partial(_sqlite_pragmas, path))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self) -> None:
        """Run migrations to head."""
        config = alembic_config(self.url)
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            return bool(connection.execute(text("SELECT 1")).scalar_one() == 1)

    def dispose(self) -> None:
        self.engine.dispose()


def _driver_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url
