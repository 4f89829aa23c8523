# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the audit tests: db -> audit_db (tables) -> provider (key file) -> log."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.audit import SqlAuditLog
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.audit.support import create_audit_tables


@pytest.fixture
def audit_db(db: Database) -> Database:
    create_audit_tables(db)
    return db


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "quietline-keys.json"


@pytest.fixture
def provider(key_file: Path) -> LocalKeyProvider:
    return LocalKeyProvider(key_file)


@pytest.fixture
def log(audit_db: Database, provider: LocalKeyProvider) -> SqlAuditLog:
    return SqlAuditLog(audit_db, provider)
