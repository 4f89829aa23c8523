# SPDX-License-Identifier: Apache-2.0
"""The operations commands: keys, audit verify/checkpoint/export, vault expire, outbox work."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from plugin.app import create_app
from plugin.audit.interfaces import AuditSink
from plugin.cli import main
from plugin.config import Settings
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.models import Tenant
from plugin.vault.services import VaultService
from tests.unit.plugin.audit.support import fill
from tests.unit.plugin.audit.support import sql


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


def _audited(instance: Path, database_url: str, count: int) -> Database:
    """``count`` more audit entries for tenant ``clinic``, written through the app."""
    settings = Settings.from_env(
        {
            "PLUGIN_ENV": "development",
            "PLUGIN_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
        }
    )
    app = create_app(settings)
    fill(get_service(AuditSink, app), count, tenant="clinic")
    get_service(Database, app).dispose()
    return Database(database_url)


def _anchor_file(instance: Path) -> Path:
    return instance.resolve() / "audit-anchors" / "clinic.jsonl"


def _roll_back(db: Database, seq: int) -> None:
    sql(db, "DELETE FROM audit_entries WHERE tenant_id = 'clinic' AND seq > :s", s=seq)
    sql(
        db,
        "UPDATE audit_heads SET seq = :s, mac = (SELECT mac FROM audit_entries "
        "WHERE tenant_id = 'clinic' AND seq = :s) WHERE tenant_id = 'clinic'",
        s=seq,
    )


def test_audit_checkpoint_writes_once_per_change_and_verify_counts_it(
    runner: CliRunner, instance: Path, database_url: str
) -> None:
    _audited(instance, database_url, 3).dispose()

    assert _run(runner, "audit", "checkpoint") == "clinic: checkpoint 1 at seq 3\n"
    assert _run(runner, "audit", "checkpoint", "--tenant", "clinic") == (
        "clinic: unchanged since the last checkpoint\n"
    )
    assert _run(runner, "audit", "verify") == "clinic: 3 entries, 1 checkpoints, ok\n"
    assert stat.S_IMODE(_anchor_file(instance).stat().st_mode) == 0o600


def _truncate(db: Database, anchor: Path) -> None:
    _roll_back(db, 2)


def _wipe(db: Database, anchor: Path) -> None:
    sql(db, "DELETE FROM audit_entries")
    sql(db, "DELETE FROM audit_heads")


def _edit_checkpoint(db: Database, anchor: Path) -> None:
    lines = anchor.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    record["seq"], record["entries"] = 2, 2
    anchor.write_text("\n".join([*lines[:-1], json.dumps(record)]) + "\n", encoding="utf-8")
    _roll_back(db, 2)


def _drop_middle_checkpoint(db: Database, anchor: Path) -> None:
    lines = anchor.read_text(encoding="utf-8").splitlines()
    anchor.write_text("\n".join([lines[0], *lines[2:]]) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_truncate, "seq 3: truncated: entry 3..7 is gone: the chain ends at seq 2"),
        (_wipe, "seq 1: wiped: the chain is empty, but checkpoint 3 recorded 7 entries"),
        (_edit_checkpoint, "seq 5: checkpoint: line 3 of the checkpoint file does not match"),
        (_drop_middle_checkpoint, "seq 7: checkpoint: checkpoint 2 is missing (deleted)"),
    ],
    ids=["truncated", "wiped", "edited-checkpoint", "deleted-checkpoint"],
)
def test_audit_verify_fails_with_a_plain_message_after_tampering_behind_a_checkpoint(
    runner: CliRunner,
    instance: Path,
    database_url: str,
    tamper: Callable[[Database, Path], None],
    expected: str,
) -> None:
    for count in (3, 2, 2):  # checkpoints at seq 3, 5 and 7
        _audited(instance, database_url, count).dispose()
        _run(runner, "audit", "checkpoint")
    db = Database(database_url)
    tamper(db, _anchor_file(instance))
    db.dispose()

    result = runner.invoke(main, ["audit", "verify"], catch_exceptions=False)

    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert expected in result.output


def test_audit_checkpoint_refuses_to_sign_a_chain_cut_behind_its_last_checkpoint(
    runner: CliRunner, instance: Path, database_url: str
) -> None:
    db = _audited(instance, database_url, 4)
    _run(runner, "audit", "checkpoint")
    _roll_back(db, 2)
    db.dispose()

    result = runner.invoke(main, ["audit", "checkpoint"], catch_exceptions=False)

    assert result.exit_code == 1
    assert result.output == (
        "clinic: no checkpoint written: the chain does not match its last checkpoint; "
        "run quietline audit verify\n"
    )
    assert len(_anchor_file(instance).read_text(encoding="utf-8").splitlines()) == 1
