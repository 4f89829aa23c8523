# SPDX-License-Identifier: Apache-2.0
"""Code-word fixtures: cw_db (two tenants) -> keys (key file) -> clock -> wiring -> service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.codeword.services import CodewordService
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import add_tenants
from tests.unit.plugin.codeword.support import wire


@pytest.fixture
def cw_db(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.upgrade()
    add_tenants(db)
    yield db
    db.dispose()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "quietline-keys.json"


@pytest.fixture
def keys(key_file: Path) -> LocalKeyProvider:
    return LocalKeyProvider(key_file)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wiring(cw_db: Database, keys: LocalKeyProvider, clock: Clock) -> Wiring:
    return wire(cw_db, keys, clock=clock)


@pytest.fixture
def service(wiring: Wiring) -> CodewordService:
    return wiring.service
