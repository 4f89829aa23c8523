# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the plugin unit tests: settings -> flask_app -> client, and db -> tenants.

The app fixture is named ``flask_app`` on purpose: pytest-flask pushes a request context for
the whole test whenever a fixture called ``app`` is used, and the test client would then share
one ``g`` between requests (hiding cookie bugs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from plugin.app import create_app
from plugin.config import Settings
from plugin.crypto import Sealer
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.local import LocalKeyProvider
from plugin.crypto.pkcs11 import HsmKeyProvider
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.services import SqlTenantRepository
from smart_launch.keys import ClientKeys
from tests.support.servers import make_settings
from tests.support.softhsm import HsmToken
from tests.support.softhsm import SoftHsm
from tests.support.softhsm import SoftHsmMissing
from tests.support.softhsm import configure
from tests.unit.plugin.support import PUBLIC_URL
from tests.unit.plugin.support import registration
from tests.unit.plugin.support import write_client_keys


@pytest.fixture(scope="session")
def client_keys() -> ClientKeys:
    """One RS384 + ES384 key pair for the run.

    The RSA key is 2048 bits rather than the 3072 of ``ClientKeys.generate``: every
    ``create_app`` loads the key file, and importing (validating) a 3072-bit private key costs
    about 0.15 s, which would dominate these tests.  Key size plays no part in what they check.
    """
    rsa = RSAKey.generate_key(2048, parameters={"alg": "RS384", "use": "sig"}, private=True)
    ec = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    return ClientKeys(KeySet([rsa, ec]))


@pytest.fixture
def instance(tmp_path: Path, client_keys: ClientKeys) -> Path:
    """An instance folder that already holds the session's client key file."""
    path = tmp_path / "instance"
    write_client_keys(path / "client_keys.json", client_keys)
    return path


@pytest.fixture
def settings(instance: Path, database_url: str) -> Settings:
    return make_settings(instance, database_url, PUBLIC_URL, max_content_length=4096)


@pytest.fixture
def flask_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    get_service(Database, app).dispose()


@pytest.fixture
def client(flask_app: Flask) -> FlaskClient:
    return flask_app.test_client()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def token_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def tenants(db: Database, token_key: bytes, client_keys: ClientKeys) -> SqlTenantRepository:
    return SqlTenantRepository(db, Sealer(token_key, "tenant-secret"), client_keys)


@pytest.fixture
def tenant(tenants: SqlTenantRepository) -> str:
    """A registered private_key_jwt tenant; returns its id."""
    tenants.register(registration())
    return "ehr"


# --- key providers (shared by crypto, vault and app tests) ---------------------------------


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """One SoftHSM2 configuration for the whole session (the library reads it once)."""
    try:
        return configure(tmp_path_factory.mktemp("softhsm"))
    except SoftHsmMissing as exc:
        pytest.fail(f"SoftHSM2 is required for the pkcs11 provider tests: {exc}")


@pytest.fixture
def softhsm_token(softhsm: SoftHsm) -> HsmToken:
    """A fresh, empty token (library path, label, PIN) for one test."""
    try:
        return softhsm.create_token()
    except SoftHsmMissing as exc:
        pytest.fail(f"Could not create a SoftHSM2 token: {exc}")


@pytest.fixture
def hsm_provider(softhsm_token: HsmToken) -> Iterator[HsmKeyProvider]:
    provider = HsmKeyProvider(softhsm_token.library, softhsm_token.label, softhsm_token.pin)
    yield provider
    provider.close()


@pytest.fixture
def local_provider(tmp_path: Path) -> LocalKeyProvider:
    return LocalKeyProvider(tmp_path / "keys" / "quietline-keys.json")


@pytest.fixture(params=["local", "pkcs11"])
def provider(request: pytest.FixtureRequest) -> KeyProvider:
    """Each contract test runs once per implementation."""
    if request.param == "local":
        return request.getfixturevalue("local_provider")  # type: ignore[no-any-return]
    return request.getfixturevalue("hsm_provider")  # type: ignore[no-any-return]
