# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the outbox tests: outbox_db -> ehr -> tenant -> outbox / queue / make_worker."""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.crypto import Sealer
from plugin.outbox import Outbox
from plugin.outbox import OutboxWorker
from plugin.outbox import backend_client_factory
from plugin.store import Database
from plugin.tenants.services import SqlTenantRepository
from smart_launch.fhir import FhirClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.outbox.support import BACKEND_SCOPE
from tests.unit.plugin.outbox.support import Clock
from tests.unit.plugin.outbox.support import Queue
from tests.unit.plugin.outbox.support import cipher
from tests.unit.plugin.outbox.support import prepare_database
from tests.unit.plugin.outbox.support import register_tenant
from tests.unit.plugin.outbox.support import running_ehr
from tests.unit.plugin.outbox.support import system_client
from tests.unit.plugin.outbox.support import tenant_repository


@pytest.fixture
def outbox_db(database_url: str) -> Iterator[Database]:
    db = prepare_database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def ehr(tmp_path: Path, client_keys: ClientKeys) -> Iterator[RunningSandbox]:
    with running_ehr(tmp_path / "ehr.sqlite3", client_keys) as running:
        yield running


@pytest.fixture
def ehr_reader(ehr: RunningSandbox, client_keys: ClientKeys) -> FhirClient:
    return system_client(ehr, client_keys)


@pytest.fixture
def outbox_tenants(outbox_db: Database, client_keys: ClientKeys) -> SqlTenantRepository:
    return tenant_repository(outbox_db, os.urandom(32), client_keys)


@pytest.fixture
def tenant(outbox_tenants: SqlTenantRepository, ehr: RunningSandbox) -> str:
    """The sandbox registered as a tenant whose client id is the Backend Services client."""
    register_tenant(outbox_tenants, ehr)
    return "ehr"


@pytest.fixture
def clock() -> Clock:
    """The time the outbox and its workers read; it moves only when a test advances it."""
    return Clock()


@pytest.fixture
def make_worker(
    outbox_db: Database,
    payload_cipher: Sealer,
    outbox_tenants: SqlTenantRepository,
    client_keys: ClientKeys,
    clock: Clock,
) -> Callable[..., OutboxWorker]:
    """Workers on the test clock, delivering through Backend Services; kwargs override."""

    def make(db: Database | None = None, **overrides: Any) -> OutboxWorker:
        options: dict[str, Any] = {"clock": clock, **overrides}
        factory = backend_client_factory(outbox_tenants, client_keys, BACKEND_SCOPE)
        return OutboxWorker(db or outbox_db, payload_cipher, factory, **options)

    return make


@pytest.fixture
def payload_cipher() -> Sealer:
    """The payload cipher under a fresh key, so no test can open another test's rows."""
    return cipher(os.urandom(32))


@pytest.fixture
def outbox(outbox_db: Database, payload_cipher: Sealer, clock: Clock) -> Outbox:
    return Outbox(outbox_db, payload_cipher, clock=clock)


@pytest.fixture
def queue(outbox_db: Database, outbox: Outbox, tenant: str, payload_cipher: Sealer) -> Queue:
    """Queues notes for the registered tenant and reads their rows back."""
    return Queue(outbox_db, outbox, tenant, payload_cipher)
