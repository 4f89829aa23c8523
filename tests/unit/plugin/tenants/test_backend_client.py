# SPDX-License-Identifier: Apache-2.0
"""A tenant's separately registered backend client: stored, sealed and turned into credentials."""

from __future__ import annotations

import pytest

from plugin.errors import ConfigurationError
from plugin.store import Database
from plugin.tenants.services import BackendClient
from plugin.tenants.services import SqlTenantRepository
from tests.support.canaries import dump_database
from tests.support.canaries import scan
from tests.unit.plugin.support import registration

SECRET = "backend-Secret-Value-9876543210"


def test_a_backend_client_with_keys_is_stored(tenants: SqlTenantRepository) -> None:
    backend = BackendClient(
        client_id="qb", auth_method="private_key_jwt", signing_alg="ES384", scope="system/X.c"
    )
    tenants.register(registration(backend=backend))

    view = tenants.by_id("ehr")
    assert view.backend is not None
    assert (view.backend.client_id, view.backend.auth_method) == ("qb", "private_key_jwt")
    assert (view.backend.signing_alg, view.backend.scope) == ("ES384", "system/X.c")
    assert view.backend_on_launch_client is True  # programmatic default: today's behaviour


def test_a_backend_client_secret_is_sealed(tenants: SqlTenantRepository, db: Database) -> None:
    backend = BackendClient(
        client_id="qb", auth_method="client_secret_basic", scope="system/X.c", client_secret=SECRET
    )
    tenants.register(registration(backend=backend, backend_on_launch_client=False))

    assert scan(dump_database(db.engine), [SECRET]) == []
    view = tenants.by_id("ehr")
    assert view.backend_on_launch_client is False
    assert view.backend is not None
    assert SECRET not in repr(view)
    assert tenants.backend_secret(view) == SECRET


def test_a_secret_backend_client_needs_a_secret(tenants: SqlTenantRepository) -> None:
    backend = BackendClient(client_id="qb", auth_method="client_secret_basic", scope="system/X.c")
    with pytest.raises(ConfigurationError):
        tenants.register(registration(backend=backend))


@pytest.mark.parametrize("scope", ["", "patient/X.c", "system/X.c user/Y.r"])
def test_a_backend_client_takes_system_scopes_only(
    tenants: SqlTenantRepository, scope: str
) -> None:
    backend = BackendClient(client_id="qb", auth_method="private_key_jwt", scope=scope)
    with pytest.raises(ConfigurationError):
        tenants.register(registration(backend=backend))


def test_reregistering_without_a_backend_client_removes_it(tenants: SqlTenantRepository) -> None:
    backend = BackendClient(
        client_id="qb", auth_method="client_secret_basic", scope="system/X.c", client_secret=SECRET
    )
    tenants.register(registration(backend=backend))
    tenants.register(registration())

    view = tenants.by_id("ehr")
    assert view.backend is None
    assert tenants.backend_secret(view) is None
