# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the key-management tests: SoftHSM2 tokens, both key providers, the keyring DB.

``provider`` is parametrised over ``LocalKeyProvider`` and ``HsmKeyProvider`` (on a fresh
SoftHSM2 token), so every test taking it is a contract test run against both.  A missing
SoftHSM2 fails the test with a clear message; it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.keyring import Keyring
from plugin.crypto.models import KekVersion
from plugin.store import Database
from tests.unit.plugin.crypto.vaultstore import SqlTestVault


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test database with ``kek_versions`` (the lead's migration creates it in the app)."""
    database = Database(database_url)
    KekVersion.metadata.create_all(database.engine, tables=[KekVersion.__table__])  # type: ignore[list-item]
    yield database
    database.dispose()


@pytest.fixture
def keyring(db: Database, provider: KeyProvider) -> Keyring:
    return Keyring(db, provider)


@pytest.fixture
def cipher(provider: KeyProvider) -> EnvelopeCipher:
    return EnvelopeCipher(provider)


@pytest.fixture
def vault(db: Database, cipher: EnvelopeCipher) -> SqlTestVault:
    return SqlTestVault(db, cipher)
