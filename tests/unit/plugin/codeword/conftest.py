# SPDX-License-Identifier: Apache-2.0
"""Code-word fixtures: cw_db (two tenants) -> keys (key file) -> clock -> wiring -> service,
and for appointment changes ehr (a sandbox requiring If-Match) -> fhir, outbox -> changer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from plugin.codeword.appointments import AppointmentChanger
from plugin.codeword.intents import ChangeIntents
from plugin.codeword.services import CodewordService
from plugin.crypto.local import LocalKeyProvider
from plugin.outbox.services import Outbox
from plugin.store import Database
from smart_launch.fhir import FhirClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.config import ClientRegistration
from smart_launch.sandbox.config import SandboxConfig
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.server import start
from tests.unit.plugin.codeword.ehr_support import SCOPE
from tests.unit.plugin.codeword.ehr_support import ehr_client
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import add_tenants
from tests.unit.plugin.codeword.support import enroll
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


@pytest.fixture
def ehr(tmp_path: Path, client_keys: ClientKeys) -> Iterator[RunningSandbox]:
    client = ClientRegistration(
        client_id="quietline",
        auth_method="private_key_jwt",
        jwks=client_keys.public_jwks(),
        grant_types=("client_credentials",),
        scope=SCOPE,
    )
    running = start(
        SandboxConfig(db_path=tmp_path / "ehr.sqlite3", clients=[client], require_if_match=True)
    )
    yield running
    running.stop()


@pytest.fixture
def fhir(ehr: RunningSandbox, client_keys: ClientKeys) -> FhirClient:
    return ehr_client(ehr, client_keys)


@pytest.fixture
def outbox(wiring: Wiring, clock: Clock) -> Outbox:
    return Outbox(wiring.db, wiring.outbox_cipher, clock=clock)


@pytest.fixture
def intents(wiring: Wiring, outbox: Outbox, clock: Clock) -> ChangeIntents:
    return ChangeIntents(
        wiring.db,
        wiring.service,
        outbox,
        wiring.audit,
        lambda: datetime.fromtimestamp(clock(), UTC),
    )


@pytest.fixture
def changer(wiring: Wiring, intents: ChangeIntents, clock: Clock) -> AppointmentChanger:
    enroll(wiring.service)
    return AppointmentChanger(wiring.db, wiring.service, intents, clock=clock)
