# SPDX-License-Identifier: Apache-2.0
"""Write transactions that serialise with every other process sharing the database.

On PostgreSQL the caller locks the rows it reads with ``SELECT ... FOR UPDATE``
(:meth:`sqlalchemy.sql.Select.with_for_update`); READ COMMITTED then re-reads the newest
committed row after the wait.  SQLite has no row locks: the transaction starts with
``BEGIN IMMEDIATE``, which takes the database write lock before the first read (waiting up to
the busy timeout), so nothing another process commits can slip between the read and the write.
``with_for_update`` renders nothing on SQLite, so the same queries serve both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from ..store import Database

__all__ = ["write_transaction"]


@contextmanager
def write_transaction(db: Database) -> Iterator[Session]:
    """A session committed on success, holding the SQLite write lock from its first statement.

    The pysqlite driver (Python 3.11, legacy transaction control) opens a transaction only
    before a DML statement and leaves an explicit ``BEGIN`` alone, so issuing ``BEGIN IMMEDIATE``
    as the connection's first statement makes the whole session one locked transaction;
    SQLAlchemy's commit and rollback end it.
    """
    with db.session() as session:
        if db.dialect == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session
