# SPDX-License-Identifier: Apache-2.0
"""Database: migrations, sessions and the PostgreSQL driver choice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from plugin.store import Database
from plugin.store.db import alembic_config
from plugin.tenants.models import Tenant

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@pytest.fixture
def fresh(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _versions(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def test_upgrade_creates_the_tables(fresh: Database) -> None:
    assert "tenants" not in inspect(fresh.engine).get_table_names()

    fresh.upgrade()

    tables = set(inspect(fresh.engine).get_table_names())
    assert {
        "tenants",
        "pending_states",
        "launches",
        "alembic_version",
        "vault_records",
        "kek_versions",
        "audit_entries",
        "audit_heads",
        "outbox_items",
        "notices",
    } <= tables
    assert _versions(fresh) == [HEAD]


def test_upgrade_is_idempotent(fresh: Database) -> None:
    fresh.upgrade()
    with fresh.session() as session:
        session.add(_tenant())

    fresh.upgrade()
    fresh.upgrade()

    assert _versions(fresh) == [HEAD]
    with fresh.session() as session:
        assert session.get(Tenant, "t1") is not None


def test_launch_tables_have_their_indexes(db: Database) -> None:
    inspector = inspect(db.engine)

    launch_indexes = {index["name"] for index in inspector.get_indexes("launches")}
    assert {"ix_launches_session_hash", "ix_launches_expires_at"} <= launch_indexes
    pending_indexes = {index["name"] for index in inspector.get_indexes("pending_states")}
    assert "ix_pending_states_expires_at" in pending_indexes
    assert inspector.get_pk_constraint("pending_states")["constrained_columns"] == ["state_hash"]


def _add_then_fail(db: Database) -> None:
    with db.session() as session:
        session.add(_tenant())
        session.flush()
        raise RuntimeError


def _add(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        session.add(tenant)


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        _add_then_fail(db)

    with db.session() as session:
        assert session.get(Tenant, "t1") is None
    _add(db, _tenant())

    with db.session() as session:
        assert session.get(Tenant, "t1") is not None


def test_ping(db: Database) -> None:
    assert db.ping() is True


def test_tenant_iss_is_unique(db: Database) -> None:
    _add(db, _tenant())

    with pytest.raises(IntegrityError):
        _add(db, _tenant(id="t2"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db.internal:5432/q", "postgresql+psycopg://u:p@db.internal:5432/q"),
        ("postgres://u@db.internal/q", "postgresql+psycopg://u@db.internal/q"),
        ("postgresql+psycopg://u@db.internal/q", "postgresql+psycopg://u@db.internal/q"),
        ("sqlite:///quietline.db", "sqlite:///quietline.db"),
    ],
)
def test_postgres_urls_use_psycopg(
    url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative SQLite file is created where the process runs
    database = Database(url)
    try:
        assert database.url == expected
        assert database.engine.url.render_as_string(hide_password=False) == expected
    finally:
        database.dispose()


def test_dialect(db: Database, database_url: str) -> None:
    assert db.dialect == ("sqlite" if database_url.startswith("sqlite") else "postgresql")


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        database.dispose()


def test_alembic_config_escapes_percent_signs() -> None:
    url = "postgresql+psycopg://u@h/q?options=-csearch_path%3Dt_abc"

    config = alembic_config(url)

    assert config.get_main_option("sqlalchemy.url") == url
    assert config.get_main_option("script_location", "").endswith("migrations")


def _tenant(**overrides: object) -> Tenant:
    values: dict[str, object] = {
        "id": "t1",
        "name": "T",
        "iss": "https://t.example/fhir",
        "client_id": "c",
        "auth_method": "private_key_jwt",
        "signing_alg": "RS384",
        "scope": "openid",
        "frame_origins": [],
        "role_mapping": {},
    }
    values.update(overrides)
    return Tenant(**values)
