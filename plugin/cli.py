# SPDX-License-Identifier: Apache-2.0
"""The ``quietline`` command."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click

from .app import audit_checkpointer
from .app import create_app
from .app import start_worker
from .audit.checkpoints import CheckpointError
from .audit.checkpoints import FileCheckpointSink
from .audit.export import export_bundle
from .audit.interfaces import AuditSink
from .audit.verify import verify_all
from .audit.verify import verify_chain
from .codeword.reconcile import Reconciler
from .config import Settings
from .crypto.interfaces import KeyProvider
from .crypto.keyring import Keyring
from .outbox.worker import OutboxWorker
from .registry import get_service
from .server import make_quiet_server
from .store import Database
from .tenants.cli import tenant
from .vault.services import VaultService

__all__ = ["main"]


@click.group()
def main() -> None:
    """Quietline: stalking screening and safety tools for SMART-on-FHIR EHRs."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8701, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run Quietline with the embedded server (use gunicorn in production)."""
    app = create_app()
    start_worker(app)
    click.echo(f"Quietline on http://{host}:{port}/")
    make_quiet_server(host, port, app).serve_forever()


@main.command()
@click.option("--ehr-port", default=8700, show_default=True, type=int)
@click.option("--app-port", default=8701, show_default=True, type=int)
@click.option("--data", "data_dir", default="instance/demo", show_default=True, type=Path)
def demo(ehr_port: int, app_port: int, data_dir: Path) -> None:
    """Run the sandbox EHR and Quietline together (the embedded default)."""
    # Imported here: keeps requests out of the other commands.
    from .demo import SOURCE_CHECKOUT_NEEDED  # noqa: PLC0415
    from .demo import run_demo  # noqa: PLC0415
    from .demo import sandbox_available  # noqa: PLC0415

    if not sandbox_available():
        raise click.ClickException(SOURCE_CHECKOUT_NEEDED)
    run_demo(data_dir.resolve(), ehr_port=ehr_port, app_port=app_port)


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Run migrations to the newest revision."""
    settings = Settings.from_env()
    Database(settings.database_url).upgrade()
    click.echo("database is at the newest revision")


main.add_command(tenant)


@main.group()
def keys() -> None:
    """Key-encryption keys: status and rotation."""


@keys.command("status")
@click.option("--tenant")
def keys_status(tenant: str | None) -> None:
    """List every key version, its state and whether the provider still holds it."""
    keyring = get_service(Keyring, create_app())
    for s in keyring.status(tenant):
        consistent = s.in_provider == (s.state != "destroyed")
        click.echo(
            f"{s.tenant}\t{s.period}\tv{s.version}\t{s.state}\t"
            f"{'ok' if consistent else 'DRIFT'}\t{s.label}"
        )


@keys.command("rotate")
@click.option("--tenant")
def keys_rotate(tenant: str | None) -> None:
    """New key versions; every data key re-wrapped; old versions destroyed. No downtime."""
    app = create_app()
    report = get_service(Keyring, app).rotate(
        [get_service(VaultService, app).keystore], tenant, actor="cli"
    )
    click.echo(
        json.dumps(
            {
                "rotated": report.rotated,
                "rewrapped": report.rewrapped,
                "skipped": report.skipped,
                "unreadable": report.unreadable,
                "destroyed": report.destroyed,
            }
        )
    )


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--tenant")
def audit_verify(tenant: str | None) -> None:
    """Recompute every tenant's chain; exit 1 and say which entry when anything was altered."""
    app = create_app()
    db = get_service(Database, app)
    provider = get_service(KeyProvider, app)
    anchors = FileCheckpointSink(get_service(Settings, app).audit_anchors)
    try:
        reports = (
            [verify_chain(db, provider, tenant, anchors)]
            if tenant
            else verify_all(db, provider, anchors)
        )
    except CheckpointError as exc:
        click.echo(exc.description)
        raise SystemExit(1) from None
    failed = False
    for report in reports:
        click.echo(
            f"{report.tenant}: {report.entries} entries, {report.checkpoints} checkpoints, "
            f"{'ok' if report.ok else 'FAILED'}"
        )
        for problem in report.problems:
            failed = True
            click.echo(f"  seq {problem.seq}: {problem.kind}: {problem.message}")
    if failed:
        raise SystemExit(1)


@audit.command("checkpoint")
@click.option("--tenant")
def audit_checkpoint(tenant: str | None) -> None:
    """Sign each chain's head into the anchor folder (run it on a schedule)."""
    checkpointer = audit_checkpointer(create_app())
    try:
        outcomes = [checkpointer.outcome(tenant)] if tenant else checkpointer.checkpoint_all()
    except CheckpointError as exc:
        click.echo(exc.description)
        raise SystemExit(1) from None
    for outcome in outcomes:
        if outcome.checkpoint is not None:
            cp = outcome.checkpoint
            click.echo(f"{outcome.tenant}: checkpoint {cp.n} at seq {cp.seq}")
        elif outcome.status == "unchanged":
            click.echo(f"{outcome.tenant}: unchanged since the last checkpoint")
        elif outcome.status == "refused":
            click.echo(
                f"{outcome.tenant}: no checkpoint written: the chain does not match its last "
                "checkpoint; run quietline audit verify"
            )
        else:
            click.echo(f"{outcome.tenant}: no checkpoint written: another writer kept appending")
    if any(outcome.status in {"refused", "failed"} for outcome in outcomes):
        raise SystemExit(1)


@audit.command("export")
@click.option("--tenant", required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def audit_export(tenant: str, out: Path) -> None:
    """Write the tenant's entries as a FHIR Bundle of AuditEvent resources."""
    app = create_app()
    bundle = export_bundle(
        get_service(Database, app), get_service(AuditSink, app), tenant, actor="cli"
    )
    out.write_text(json.dumps(bundle, indent=2), encoding="utf-8")
    click.echo(f"wrote {out}")


@main.group()
def vault() -> None:
    """The encrypted vault."""


@vault.command("expire")
def vault_expire() -> None:
    """Crypto-shred every record whose retention period has ended."""
    click.echo(f"expired {get_service(VaultService, create_app()).expire()} records")


@main.group()
def outbox() -> None:
    """The queue of EHR writes."""


@outbox.command("work")
@click.option("--interval", default=1.0, show_default=True, type=float)
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
def outbox_work(interval: float, once: bool) -> None:
    """Deliver queued EHR writes until SIGTERM (the worker Deployment)."""
    worker = get_service(OutboxWorker, create_app())
    if once:
        click.echo(f"handled {worker.run_once()}")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.run_forever(stop, interval)


@main.group()
def codeword() -> None:
    """Code-word verification."""


@codeword.command("reconcile")
def codeword_reconcile() -> None:
    """Look for appointment changes made in the EHR without verification (run it on a schedule)."""
    for report in get_service(Reconciler, create_app()).run_all():
        click.echo(
            f"{report.tenant}: checked {report.checked}, without verification {report.bypasses}"
        )
