# SPDX-License-Identifier: Apache-2.0
"""Vault fixtures: a real database, both key providers, the real keyring and audit chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.audit.services import SqlAuditLog
from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.keyring import Keyring
from plugin.crypto.pseudonyms import Pseudonymizer
from plugin.store import Database
from plugin.tenants.models import Tenant
from plugin.vault.services import RetentionPolicy
from plugin.vault.services import VaultService

TENANT = "clinic"


@pytest.fixture
def vault_db(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.upgrade()
    with db.session() as session:
        session.add(
            Tenant(id=TENANT, name="Clinic", iss="https://ehr.example/fhir", client_id="q",
                   auth_method="private_key_jwt", signing_alg="RS384", scope="launch",
                   frame_origins=["https://ehr.example"], role_mapping={}, retention={},
                   confidentiality="R")
        )  # fmt: skip
    yield db
    db.dispose()


@pytest.fixture
def retention() -> dict[str, RetentionPolicy]:
    return {TENANT: RetentionPolicy()}


@pytest.fixture
def vault(
    vault_db: Database, provider: KeyProvider, retention: dict[str, RetentionPolicy]
) -> VaultService:
    audit = SqlAuditLog(vault_db, provider)
    return VaultService(
        vault_db,
        EnvelopeCipher(provider),
        Keyring(vault_db, provider, audit),
        Pseudonymizer(provider),
        audit,
        lambda tenant: retention[tenant],
    )
