# SPDX-License-Identifier: Apache-2.0
"""The ``quietline`` command: ``db upgrade``, ``tenant add`` and ``tenant list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from sqlalchemy import inspect
from sqlalchemy import text

from plugin.cli import main
from plugin.config import Settings
from plugin.crypto import Sealer
from plugin.store import Database
from plugin.tenants.services import SqlTenantRepository
from smart_launch.keys import ClientKeys
from smart_launch.tokens import ClientSecretBasic

SECRET = "cli-client-secret-9f8e7d6c5b4a"


@pytest.fixture
def env(instance: Path, database_url: str) -> dict[str, str | None]:
    """The command's environment; ``None`` unsets a variable the outer shell may have set."""
    return {
        "PLUGIN_ENV": "development",
        "PLUGIN_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "PLUGIN_DATABASE_URL": None,
        "PLUGIN_SECRET_KEY": None,
        "PLUGIN_TOKEN_KEY": None,
        "PLUGIN_CLIENT_KEYS": None,
        "PLUGIN_PUBLIC_URL": None,
        "QL_UNSET_SECRET": None,
        "QL_TEST_SECRET": SECRET,
    }


@pytest.fixture
def runner(env: dict[str, str | None]) -> CliRunner:
    return CliRunner(env=env)


def _invoke(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _add(runner: CliRunner, *extra: str) -> Result:
    return _invoke(
        runner,
        "tenant",
        "add",
        "--id",
        "clinic",
        "--name",
        "Clinic EHR",
        "--iss",
        "https://EHR.example.org/fhir/",
        "--client-id",
        "ql-client",
        "--frame-origin",
        "https://ehr.example.org",
        *extra,
    )


def _repository(
    env: dict[str, str | None], database_url: str
) -> tuple[Database, SqlTenantRepository]:
    settings = Settings.from_env({k: v for k, v in env.items() if v is not None})
    db = Database(database_url)
    keys = ClientKeys.load(settings.client_keys_path)
    return db, SqlTenantRepository(db, Sealer(settings.token_key, "tenant-secret"), keys)


def test_db_upgrade(runner: CliRunner, database_url: str) -> None:
    result = _invoke(runner, "db", "upgrade")

    assert "database is at the newest revision" in result.output
    db = Database(database_url)
    try:
        assert {"tenants", "pending_states", "launches"} <= set(
            inspect(db.engine).get_table_names()
        )
    finally:
        db.dispose()
    assert "newest revision" in _invoke(runner, "db", "upgrade").output


def test_tenant_add_then_list(runner: CliRunner) -> None:
    assert "registered clinic" in _add(runner).output

    lines = _invoke(runner, "tenant", "list").output.strip().splitlines()

    assert lines == ["clinic\thttps://ehr.example.org/fhir\tql-client\tprivate_key_jwt"]


def test_tenant_list_is_empty_before_any_add(runner: CliRunner) -> None:
    assert _invoke(runner, "tenant", "list").output == ""


def test_tenant_add_with_a_client_secret_from_the_environment(
    runner: CliRunner, env: dict[str, str | None], database_url: str, tmp_path: Path
) -> None:
    mapping = tmp_path / "roles.json"
    mapping.write_text(json.dumps({"codes": {"urn:x|therapist": ["clinician"]}}), encoding="utf-8")

    _add(
        runner,
        "--auth-method",
        "client_secret_basic",
        "--client-secret-env",
        "QL_TEST_SECRET",
        "--role-mapping",
        str(mapping),
        "--frame-origin",
        "https://portal.example.org",
    )

    db, tenants = _repository(env, database_url)
    try:
        view = tenants.by_iss("https://ehr.example.org/fhir")
        assert view.role_mapping == {"codes": {"urn:x|therapist": ["clinician"]}}
        assert set(view.frame_origins) == {"https://ehr.example.org", "https://portal.example.org"}
        auth = tenants.registration(view, "http://localhost:8701/callback").auth
        assert isinstance(auth, ClientSecretBasic)
        assert auth.client_secret == SECRET
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM tenants")).one()
        assert not any(SECRET in str(value) for value in row)
        assert not any(
            SECRET.encode() in bytes(value)
            for value in row
            if isinstance(value, bytes | memoryview)
        )
    finally:
        db.dispose()


def test_tenant_add_refuses_client_secret_basic_without_a_secret(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        [
            "tenant",
            "add",
            "--id",
            "clinic",
            "--name",
            "Clinic EHR",
            "--iss",
            "https://ehr.example.org/fhir",
            "--client-id",
            "ql-client",
            "--frame-origin",
            "https://ehr.example.org",
            "--auth-method",
            "client_secret_basic",
            "--client-secret-env",
            "QL_UNSET_SECRET",
        ],
    )

    assert result.exit_code != 0
    assert "registered" not in result.output
    assert _invoke(runner, "tenant", "list").output == ""


def test_tenant_add_requires_a_frame_origin(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        [
            "tenant",
            "add",
            "--id",
            "clinic",
            "--name",
            "Clinic",
            "--iss",
            "https://ehr.example.org/fhir",
            "--client-id",
            "c",
        ],
    )

    assert result.exit_code == 2
    assert "--frame-origin" in result.output


def test_tenant_add_creates_the_instance_secrets_once(runner: CliRunner, instance: Path) -> None:
    _add(runner)
    token_key = (instance / "token_key").read_text(encoding="ascii")

    _invoke(runner, "tenant", "list")

    assert (instance / "token_key").read_text(encoding="ascii") == token_key
    assert (instance / "secret_key").exists()


def test_tenant_add_allow_lists_cds_hooks_callers(
    runner: CliRunner, env: dict[str, str | None], database_url: str
) -> None:
    _add(runner, "--cds-client", "https://ehr.example.org", "https://ehr.example.org/cds/jwks")

    db, tenants = _repository(env, database_url)
    try:
        view = tenants.by_iss("https://ehr.example.org/fhir")
        assert view.options["cds"] == {
            "clients": [
                {"iss": "https://ehr.example.org", "jku": "https://ehr.example.org/cds/jwks"}
            ]
        }
    finally:
        db.dispose()
