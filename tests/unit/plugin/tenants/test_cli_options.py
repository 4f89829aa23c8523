# SPDX-License-Identifier: Apache-2.0
"""``quietline tenant add``: the backend client options, and a running app seeing the change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from flask import Flask
from sqlalchemy import text

import plugin.tenants.services as tenant_services
from plugin.app import create_app
from plugin.cli import main
from plugin.config import Settings
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.interfaces import TenantRepository
from plugin.tenants.services import TENANT_REFRESH_SECONDS
from plugin.tenants.services import SqlTenantRepository
from tests.unit.plugin.outbox.support import Clock

SECRET = "cli-backend-secret-0a1b2c3d4e5f"
ISS = "https://ehr.example.org/fhir"


@pytest.fixture
def env(instance: Path, database_url: str) -> dict[str, str]:
    return {
        "PLUGIN_ENV": "development",
        "PLUGIN_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "QL_BACKEND_SECRET": SECRET,
    }


@pytest.fixture
def runner(env: dict[str, str]) -> CliRunner:
    return CliRunner(env={**env, "PLUGIN_SECRET_KEY": None, "PLUGIN_TOKEN_KEY": None})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def running(
    env: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> Iterator[Flask]:
    """A running app (another process in production) whose tenant cache runs on ``clock``."""
    _add(runner, "--id", "first", "--iss", "https://first.example/fhir")
    monkeypatch.setattr(tenant_services, "monotonic", clock)
    app = create_app(Settings.from_env(env))
    yield app
    get_service(Database, app).dispose()


def _add(runner: CliRunner, *extra: str) -> Result:
    defaults = {"--id": "clinic", "--iss": ISS}
    args = ["tenant", "add", "--name", "Clinic EHR", "--client-id", "ql-client"]
    args += ["--frame-origin", "https://ehr.example.org"]
    for option, value in defaults.items():
        if option not in extra:
            args += [option, value]
    result = runner.invoke(main, [*args, *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _repository(env: dict[str, str]) -> SqlTenantRepository:
    return get_service(TenantRepository, create_app(Settings.from_env(env)))


def test_tenant_add_registers_a_backend_client_with_keys(
    runner: CliRunner, env: dict[str, str]
) -> None:
    _add(
        runner,
        "--backend-client-id",
        "ql-backend",
        "--backend-auth-method",
        "private_key_jwt",
        "--backend-signing-alg",
        "ES384",
        "--backend-scope",
        "system/DocumentReference.c system/Communication.c",
    )

    view = _repository(env).by_iss(ISS)
    assert view.backend is not None
    assert view.backend.client_id == "ql-backend"
    assert view.backend.auth_method == "private_key_jwt"
    assert view.backend.signing_alg == "ES384"
    assert view.backend.scope == "system/DocumentReference.c system/Communication.c"
    assert view.backend_on_launch_client is False  # the CLI default: only when asked


def test_tenant_add_seals_a_backend_client_secret(
    runner: CliRunner, env: dict[str, str], database_url: str
) -> None:
    _add(
        runner,
        "--backend-client-id",
        "ql-backend",
        "--backend-auth-method",
        "client_secret_basic",
        "--backend-client-secret-env",
        "QL_BACKEND_SECRET",
    )

    repository = _repository(env)
    view = repository.by_iss(ISS)
    assert view.backend is not None
    assert repository.backend_secret(view) == SECRET
    assert view.backend.scope  # the default system/ scopes
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM tenants")).one()
        assert not any(
            SECRET.encode() in (bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode())
            for v in row
        )
    finally:
        db.dispose()


def test_tenant_add_can_allow_backend_services_on_the_launch_client(
    runner: CliRunner, env: dict[str, str]
) -> None:
    _add(runner, "--backend-on-launch-client")

    view = _repository(env).by_iss(ISS)
    assert view.backend is None
    assert view.backend_on_launch_client is True


def test_a_running_app_sees_a_cli_registration_within_the_bound(
    running: Flask, runner: CliRunner, clock: Clock
) -> None:
    client = running.test_client()
    before = client.get("/callback").headers["Content-Security-Policy"]
    assert "https://ehr.example.org" in before
    assert "https://second.example" not in before
    refused = client.get(
        "/launch", query_string={"iss": "https://second.example/fhir", "launch": "x"}
    )
    assert refused.status_code == 400

    _add(
        runner,
        "--id",
        "second",
        "--iss",
        "https://second.example/fhir",
        "--frame-origin",
        "https://second.example",
    )

    clock.advance(TENANT_REFRESH_SECONDS)
    after = client.get("/callback").headers["Content-Security-Policy"]
    assert "https://second.example" in after
    repository = get_service(TenantRepository, running)
    assert repository.by_iss("https://second.example/fhir").id == "second"


def test_tenant_add_can_ask_for_offline_access(runner: CliRunner, env: dict[str, str]) -> None:
    _add(runner, "--id", "plain")
    _add(runner, "--id", "offline", "--iss", "https://offline.example/fhir", "--offline-access")

    tenants = _repository(env)
    assert "offline_access" not in tenants.by_id("plain").options
    assert tenants.by_id("offline").options["offline_access"] is True
