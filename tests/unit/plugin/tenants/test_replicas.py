# SPDX-License-Identifier: Apache-2.0
"""Tenant registrations reach every replica within the cache bound, without a restart.

Each :class:`SqlTenantRepository` stands for one process (replica or CLI run) on the shared
database; the clock is injected so no test sleeps.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from plugin.crypto import Sealer
from plugin.store import Database
from plugin.tenants.services import TENANT_REFRESH_SECONDS
from plugin.tenants.services import SqlTenantRepository
from smart_launch.errors import IssuerNotAllowed
from smart_launch.keys import ClientKeys
from tests.unit.plugin.outbox.support import Clock
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import registration

OTHER_ISS = "https://other.example/fhir"


def _replica(db: Database, token_key: bytes, keys: ClientKeys, clock: Clock) -> SqlTenantRepository:
    return SqlTenantRepository(db, Sealer(token_key, "tenant-secret"), keys, clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def replicas(
    db: Database, token_key: bytes, client_keys: ClientKeys, clock: Clock
) -> tuple[SqlTenantRepository, SqlTenantRepository]:
    return (
        _replica(db, token_key, client_keys, clock),
        _replica(db, token_key, client_keys, clock),
    )


def test_the_bound_is_five_seconds() -> None:
    assert TENANT_REFRESH_SECONDS == 5.0


def test_a_registration_reaches_another_replica_within_the_bound(
    replicas: tuple[SqlTenantRepository, SqlTenantRepository], clock: Clock
) -> None:
    writer, reader = replicas
    writer.register(registration())
    with pytest.raises(IssuerNotAllowed):
        reader.by_iss(OTHER_ISS)  # loads and caches the current list

    writer.register(registration(id="other", iss=OTHER_ISS))

    clock.advance(TENANT_REFRESH_SECONDS)
    assert reader.by_iss(OTHER_ISS).id == "other"


def test_a_change_reaches_another_replica_within_the_bound(
    replicas: tuple[SqlTenantRepository, SqlTenantRepository], clock: Clock
) -> None:
    writer, reader = replicas
    writer.register(registration())
    assert reader.by_iss(EHR_ISS).frame_origins == ("http://127.0.0.1:8700",)

    writer.register(registration(frame_origins=("https://moved.example",)))
    writer.register(registration(id="two", iss=OTHER_ISS, client_id="second"))
    writer.register(registration(id="two", iss=OTHER_ISS, client_id="renamed"))

    clock.advance(TENANT_REFRESH_SECONDS + 0.5)
    assert reader.frame_origins() == {"https://moved.example", "http://127.0.0.1:8700"}
    assert reader.by_id("two").client_id == "renamed"
    assert reader.by_iss(EHR_ISS).frame_origins == ("https://moved.example",)


def test_between_checks_the_cache_costs_no_query(
    replicas: tuple[SqlTenantRepository, SqlTenantRepository], clock: Clock, db: Database
) -> None:
    writer, reader = replicas
    writer.register(registration())
    reader.by_iss(EHR_ISS)
    statements: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements.append(statement)

    event.listen(db.engine, "after_cursor_execute", count)
    try:
        for _ in range(20):
            reader.by_iss(EHR_ISS)
            clock.advance(TENANT_REFRESH_SECONDS / 10)
        assert len(statements) <= 2  # at most one marker check per bound
        statements.clear()
        clock.advance(TENANT_REFRESH_SECONDS)
        reader.by_iss(EHR_ISS)
        assert len(statements) == 1  # an unchanged marker: the list itself is not read again
    finally:
        event.remove(db.engine, "after_cursor_execute", count)
