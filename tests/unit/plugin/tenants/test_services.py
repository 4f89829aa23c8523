# SPDX-License-Identifier: Apache-2.0
"""The tenant repository: the iss allow-list, sealed client secrets and the cache."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy import text

from plugin.crypto import Sealer
from plugin.crypto import SealError
from plugin.errors import ConfigurationError
from plugin.store import Database
from plugin.tenants.services import SqlTenantRepository
from smart_launch.errors import IssuerNotAllowed
from smart_launch.keys import ClientKeys
from smart_launch.tokens import ClientSecretBasic
from smart_launch.tokens import PrivateKeyJwtAuth
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import EHR_ORIGIN
from tests.unit.plugin.support import registration

CLIENT_SECRET = "s3cret-Client-Value-0123456789"
REDIRECT = "http://localhost:8701/callback"


def _raw_rows(db: Database, table: str) -> list[str]:
    """Every column of every row, as text (bytes decoded leniently)."""
    with db.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table}")).all()
    out = []
    for row in rows:
        for value in row:
            if isinstance(value, bytes | memoryview):
                out.append(bytes(value).decode("latin-1"))
            else:
                out.append(str(value))
    return out


def test_register_then_by_iss(tenants: SqlTenantRepository) -> None:
    tenants.register(registration(role_mapping={"users": {"Practitioner/1": ["admin"]}}))

    view = tenants.by_iss(EHR_ISS)

    assert view.id == "ehr"
    assert view.iss == EHR_ISS
    assert view.client_id == "quietline"
    assert view.auth_method == "private_key_jwt"
    assert view.frame_origins == (EHR_ORIGIN,)
    assert view.role_mapping == {"users": {"Practitioner/1": ["admin"]}}
    assert view.client_secret_sealed is None


@pytest.mark.parametrize(
    "presented",
    [
        EHR_ISS + "/",
        "HTTP://127.0.0.1:8700/fhir",
        "http://127.0.0.1:8700/fhir//",
        "  http://127.0.0.1:8700/fhir ",
    ],
)
def test_by_iss_normalises_the_presented_iss(
    tenants: SqlTenantRepository, tenant: str, presented: str
) -> None:
    assert tenants.by_iss(presented).id == tenant


def test_iss_is_stored_normalised(tenants: SqlTenantRepository, db: Database) -> None:
    tenants.register(registration(iss="HTTPS://EHR.Example.ORG/Fhir/R4/"))

    assert tenants.by_iss("https://ehr.example.org/Fhir/R4").id == "ehr"
    assert "https://ehr.example.org/Fhir/R4" in _raw_rows(db, "tenants")


def test_path_case_is_significant(tenants: SqlTenantRepository, tenant: str) -> None:
    with pytest.raises(IssuerNotAllowed):
        tenants.by_iss("http://127.0.0.1:8700/FHIR")


@pytest.mark.parametrize(
    "iss",
    [
        "http://127.0.0.1:8700/other",
        "http://127.0.0.1:8701/fhir",
        "https://127.0.0.1:8700/fhir",
        "http://127.0.0.1:8700/fhir?x=1",
        "http://user@127.0.0.1:8700/fhir",
        "javascript:alert(1)",
        "",
    ],
)
def test_unknown_iss_is_not_allowed(tenants: SqlTenantRepository, tenant: str, iss: str) -> None:
    with pytest.raises(IssuerNotAllowed):
        tenants.by_iss(iss)


def test_by_id_and_unknown_id(tenants: SqlTenantRepository, tenant: str) -> None:
    assert tenants.by_id(tenant).iss == EHR_ISS
    with pytest.raises(IssuerNotAllowed):
        tenants.by_id("nobody")


def test_client_secret_basic_without_a_secret_is_refused(
    tenants: SqlTenantRepository, db: Database
) -> None:
    for secret in (None, ""):
        with pytest.raises(ConfigurationError, match="client secret"):
            tenants.register(registration(auth_method="client_secret_basic", client_secret=secret))
    assert _raw_rows(db, "tenants") == []


def test_unknown_auth_method_is_refused(tenants: SqlTenantRepository) -> None:
    with pytest.raises(ConfigurationError, match="auth_method"):
        tenants.register(registration(auth_method="client_secret_post", client_secret="x"))


def test_client_secret_is_stored_sealed(tenants: SqlTenantRepository, db: Database) -> None:
    tenants.register(registration(auth_method="client_secret_basic", client_secret=CLIENT_SECRET))

    columns = _raw_rows(db, "tenants")
    assert columns
    assert not any(CLIENT_SECRET in value for value in columns)
    assert not any(CLIENT_SECRET.encode().hex() in value for value in columns)
    assert tenants.by_iss(EHR_ISS).client_secret_sealed is not None


def test_registration_builds_client_secret_basic(tenants: SqlTenantRepository) -> None:
    tenants.register(registration(auth_method="client_secret_basic", client_secret=CLIENT_SECRET))

    app = tenants.registration(tenants.by_iss(EHR_ISS), REDIRECT)

    assert isinstance(app.auth, ClientSecretBasic)
    assert app.auth.client_id == "quietline"
    assert app.auth.client_secret == CLIENT_SECRET
    assert app.tenant == "ehr"
    assert app.iss == EHR_ISS
    assert app.redirect_uri == REDIRECT
    assert "patient/Patient.rs" in app.scope
    assert CLIENT_SECRET not in repr(app)


def test_registration_builds_private_key_jwt(
    tenants: SqlTenantRepository, client_keys: ClientKeys
) -> None:
    tenants.register(registration(signing_alg="ES384"))

    app = tenants.registration(tenants.by_iss(EHR_ISS), REDIRECT)

    assert isinstance(app.auth, PrivateKeyJwtAuth)
    assert app.auth.client_id == "quietline"
    assert app.auth.alg == "ES384"
    assert app.auth.keys is client_keys


def test_sealed_secret_does_not_open_under_another_tenant_key(
    db: Database, tenants: SqlTenantRepository, client_keys: ClientKeys
) -> None:
    tenants.register(registration(auth_method="client_secret_basic", client_secret=CLIENT_SECRET))
    other = SqlTenantRepository(db, Sealer(b"\x00" * 32, "tenant-secret"), client_keys)

    with pytest.raises(SealError):
        other.registration(other.by_iss(EHR_ISS), REDIRECT)


def test_secret_sealed_for_one_tenant_id_does_not_open_for_another(
    tenants: SqlTenantRepository, db: Database
) -> None:
    tenants.register(registration(auth_method="client_secret_basic", client_secret=CLIENT_SECRET))
    tenants.register(
        registration(
            id="two",
            iss="https://two.example/fhir",
            auth_method="client_secret_basic",
            client_secret="another-secret",
        )
    )
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE tenants SET client_secret_sealed = "
                "(SELECT client_secret_sealed FROM tenants WHERE id = 'ehr') WHERE id = 'two'"
            )
        )
    tenants.invalidate()

    with pytest.raises(SealError):
        tenants.registration(tenants.by_id("two"), REDIRECT)


def test_frame_origins_is_the_union_of_all_tenants(tenants: SqlTenantRepository) -> None:
    assert tenants.frame_origins() == frozenset()

    tenants.register(registration(frame_origins=("https://a.example", "https://shared.example")))
    tenants.register(
        registration(
            id="two",
            iss="https://two.example/fhir",
            frame_origins=("https://b.example", "https://shared.example"),
        )
    )

    assert tenants.frame_origins() == {
        "https://a.example",
        "https://b.example",
        "https://shared.example",
    }


def test_register_invalidates_the_cache(tenants: SqlTenantRepository, tenant: str) -> None:
    assert tenants.by_iss(EHR_ISS).client_id == "quietline"
    with pytest.raises(IssuerNotAllowed):
        tenants.by_iss("https://two.example/fhir")

    tenants.register(registration(id="two", iss="https://two.example/fhir"))
    tenants.register(registration(client_id="renamed", iss="https://moved.example/fhir"))

    assert tenants.by_iss("https://two.example/fhir").id == "two"
    assert tenants.by_iss("https://moved.example/fhir").client_id == "renamed"
    with pytest.raises(IssuerNotAllowed):
        tenants.by_iss(EHR_ISS)


def test_reregistering_without_a_secret_clears_it(tenants: SqlTenantRepository) -> None:
    tenants.register(registration(auth_method="client_secret_basic", client_secret=CLIENT_SECRET))
    tenants.register(registration())

    view = tenants.by_iss(EHR_ISS)
    assert view.auth_method == "private_key_jwt"
    assert view.client_secret_sealed is None


def test_all_is_sorted_by_name(tenants: SqlTenantRepository) -> None:
    tenants.register(registration(id="z", name="Zeta", iss="https://z.example/fhir"))
    tenants.register(registration(id="a", name="Alpha", iss="https://a.example/fhir"))

    assert [view.id for view in tenants.all()] == ["a", "z"]


def test_register_during_a_cache_load_is_not_lost(
    tenants: SqlTenantRepository, db: Database, tenant: str
) -> None:
    """A register that lands while another request is loading the cache must not be undone.

    The load has already read the table when the register commits and clears the cache; the
    load then stores what it read, and the new tenant stays unknown until the next write.
    """
    fired = False

    def register_meanwhile(conn, cursor, statement, parameters, context, executemany) -> None:
        nonlocal fired
        if fired or not statement.lstrip().upper().startswith("SELECT"):
            return
        if "FROM tenants" not in statement:
            return
        fired = True
        tenants.register(registration(id="late", iss="https://late.example/fhir"))

    tenants.invalidate()
    event.listen(db.engine, "after_cursor_execute", register_meanwhile)
    try:
        tenants.all()
    finally:
        event.remove(db.engine, "after_cursor_execute", register_meanwhile)
    assert fired
    assert "https://late.example/fhir" in _raw_rows(db, "tenants")

    assert tenants.by_iss("https://late.example/fhir").id == "late"


KEPT = {
    "authorization_endpoint": "https://login.ehr.example/authorize",
    "token_endpoint": "https://login.ehr.example/token",
    "code_challenge_methods_supported": ["S256"],
    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
}


def test_the_kept_configuration_is_stored_and_survives_a_reregistration(
    tenants: SqlTenantRepository,
) -> None:
    tenants.register(registration(smart_configuration=KEPT))
    first = tenants.by_id("ehr")

    tenants.register(registration(name="Renamed EHR"))

    assert first.smart_configuration == KEPT
    assert first.configuration_checked_at is not None
    assert tenants.by_id("ehr").smart_configuration == KEPT


def test_a_new_iss_forgets_the_kept_configuration(tenants: SqlTenantRepository) -> None:
    tenants.register(registration(smart_configuration=KEPT))

    tenants.register(registration(iss="https://other.example/fhir"))

    view = tenants.by_id("ehr")
    assert view.smart_configuration is None
    assert view.configuration_checked_at is None


def test_store_configuration_replaces_it_and_is_seen_at_once(
    tenants: SqlTenantRepository, tenant: str
) -> None:
    assert tenants.by_id(tenant).smart_configuration is None

    tenants.store_configuration(tenant, KEPT)

    assert tenants.by_id(tenant).smart_configuration == KEPT
    with pytest.raises(IssuerNotAllowed):
        tenants.store_configuration("nobody", KEPT)
