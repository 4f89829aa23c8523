# SPDX-License-Identifier: Apache-2.0
"""The operations commands: keys status/rotate, audit verify/export, vault expire, outbox work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from plugin.app import create_app
from plugin.cli import main
from plugin.config import Settings
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.models import Tenant
from plugin.vault.services import VaultService


@pytest.fixture
def runner(instance: Path, database_url: str) -> CliRunner:
    return CliRunner(
        env={
            "PLUGIN_ENV": "development",
            "PLUGIN_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "PLUGIN_DATABASE_URL": None,
            "PLUGIN_SECRET_KEY": None,
            "PLUGIN_TOKEN_KEY": None,
            "PLUGIN_CLIENT_KEYS": None,
            "PLUGIN_KEY_FILE": None,
            "PLUGIN_OUTBOX_WORKER": "off",
        }
    )


@pytest.fixture
def record(runner: CliRunner, instance: Path, database_url: str) -> str:
    """One vault record written through the app the commands will open."""
    settings = Settings.from_env(
        {
            "PLUGIN_ENV": "development",
            "PLUGIN_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
        }
    )
    app = create_app(settings)
    with get_service(Database, app).session() as session:
        session.add(
            Tenant(
                id="clinic",
                name="Clinic",
                iss="https://ehr.example/fhir",
                client_id="q",
                auth_method="private_key_jwt",
                signing_alg="RS384",
                scope="launch",
                frame_origins=["https://ehr.example"],
                role_mapping={},
                retention={},
                confidentiality="R",
                options={},
            )
        )
    vault = get_service(VaultService, app)
    with get_service(Database, app).session() as session:
        return vault.put(
            session,
            tenant="clinic",
            patient_id="pat-1",
            record_type="process-note",
            author="Practitioner/t",
            content={"text": "kept"},
        )


def _run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_keys_status_and_rotate(runner: CliRunner, record: str) -> None:
    before = _run(runner, "keys", "status")
    assert "clinic" in before
    assert "v1\tactive\tok" in before
    report = json.loads(_run(runner, "keys", "rotate").strip().splitlines()[-1])
    assert report["rewrapped"] == 1
    after = _run(runner, "keys", "status")
    assert "v1\tdestroyed\tok" in after
    assert "v2\tactive\tok" in after


def test_audit_verify_passes_then_names_a_tampered_entry(
    runner: CliRunner, record: str, database_url: str
) -> None:
    assert "ok" in _run(runner, "audit", "verify")
    db = Database(database_url)
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_entries SET actor = 'Practitioner/forged' WHERE seq = 1"))
    db.dispose()
    result = runner.invoke(main, ["audit", "verify"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert "seq 1" in result.output


def test_audit_export_writes_auditevents(runner: CliRunner, record: str, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    _run(runner, "audit", "export", "--tenant", "clinic", "--out", str(out))
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle"
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"AuditEvent"}
    assert "pat-1" not in out.read_text()


def test_vault_expire_and_outbox_once(runner: CliRunner, record: str) -> None:
    assert "expired 0 records" in _run(runner, "vault", "expire")
    assert "handled 0" in _run(runner, "outbox", "work", "--once")


def test_codeword_reconcile_skips_an_unreachable_ehr_and_keeps_its_cursor(
    runner: CliRunner, record: str, instance: Path, database_url: str
) -> None:
    from plugin.codeword.interfaces import PatientFacts  # noqa: PLC0415
    from plugin.codeword.services import CodewordService  # noqa: PLC0415

    assert _run(runner, "codeword", "reconcile") == ""  # nobody enrolled: no EHR call at all
    settings = Settings.from_env(
        {
            "PLUGIN_ENV": "development",
            "PLUGIN_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
        }
    )
    app = create_app(settings)
    get_service(CodewordService, app).enroll(
        tenant="clinic",
        patient_id="pat-1",
        word="lanternorchard",
        confirm="lanternorchard",
        facts=PatientFacts(),
        actor="Practitioner/t",
        client_present=True,
    )
    assert _run(runner, "codeword", "reconcile") == ""  # the EHR is unreachable: skipped
    with get_service(Database, app).session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM reconcile_cursors")).scalar_one() == 0
