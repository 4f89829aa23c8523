# SPDX-License-Identifier: Apache-2.0
"""The outbox survives real process kills: each EHR write arrives exactly once.

Child processes (``subprocess``, a fresh interpreter each) open the same database URL and are
killed with SIGKILL, once between the commit and the delivery and once after the EHR wrote the
resource but before the outcome was recorded; a worker in this process then recovers.  Two
worker processes delivering at the same time claim every item once (on SQLite through the
compare-and-set update, on PostgreSQL through ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin.crypto import Sealer
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxStatus
from plugin.outbox import OutboxWorker
from plugin.outbox import backend_client_factory
from plugin.outbox.services import identifier_of
from plugin.outbox.services import remote_id_of
from plugin.store import Database
from smart_launch.fhir import FhirClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.outbox.support import BACKEND_SCOPE
from tests.unit.plugin.outbox.support import ChildConfig
from tests.unit.plugin.outbox.support import cipher
from tests.unit.plugin.outbox.support import document_posts
from tests.unit.plugin.outbox.support import enqueue_note
from tests.unit.plugin.outbox.support import make_keys
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import prepare_database
from tests.unit.plugin.outbox.support import queue_note
from tests.unit.plugin.outbox.support import register_tenant
from tests.unit.plugin.outbox.support import running_ehr
from tests.unit.plugin.outbox.support import stored_ids
from tests.unit.plugin.outbox.support import system_client
from tests.unit.plugin.outbox.support import tenant_repository
from tests.unit.plugin.support import write_client_keys

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "unit" / "plugin" / "outbox" / "child.py"
LEASE = 60.0


@dataclass
class Setup:
    db: Database
    ehr: RunningSandbox
    reader: FhirClient
    worker: OutboxWorker
    outbox: Outbox
    config: ChildConfig
    logs: Path
    cipher: Sealer

    def remote_id(self, row: OutboxItem) -> str | None:
        return remote_id_of(self.cipher, row)

    def identifier(self, row: OutboxItem) -> str:
        return identifier_of(self.cipher, row)

    def rows(self) -> list[OutboxItem]:
        with self.db.session() as session:
            return list(session.scalars(select(OutboxItem).order_by(OutboxItem.created_at)))

    @contextmanager
    def spawn(self, *args: str) -> Iterator[subprocess.Popen[str]]:
        """A child process, killed on the way out if a failed test left it running."""
        env = self.config.to_env()
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        with (self.logs / f"child-{time.monotonic_ns()}.log").open("w") as stderr:
            child = subprocess.Popen(
                [sys.executable, str(CHILD), *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        with child:
            try:
                yield child
            finally:
                if child.poll() is None:
                    child.kill()


def _line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    assert line, f"child exited early with {child.wait(timeout=30)}; see its log"
    return line


def _kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL


@pytest.fixture
def setup(database_url: str, tmp_path: Path) -> Iterator[Setup]:
    keys: ClientKeys = make_keys()
    keys_path = tmp_path / "keys" / "client_keys.json"
    write_client_keys(keys_path, keys)
    token_key, payload_key = os.urandom(32), os.urandom(32)
    db = prepare_database(database_url)
    tenants = tenant_repository(db, token_key, keys)
    sealer: Sealer = cipher(payload_key)
    clients = backend_client_factory(tenants, keys, BACKEND_SCOPE)
    # The recovering worker runs a lease length ahead, as it would after waiting that long.
    worker = OutboxWorker(db, sealer, clients, lease=LEASE, clock=lambda: time.time() + LEASE + 1)
    config = ChildConfig(database_url, str(keys_path), token_key.hex(), payload_key.hex())
    outbox = Outbox(db, sealer, index_key=token_key)
    with running_ehr(tmp_path / "ehr.sqlite3", keys) as ehr:
        register_tenant(tenants, ehr)
        yield Setup(db, ehr, system_client(ehr, keys), worker, outbox, config, tmp_path, sealer)
    db.dispose()


def test_killed_between_commit_and_delivery(setup: Setup) -> None:
    values = [new_value(), new_value()]
    with setup.spawn("enqueue", *values) as child:
        line = _line(child)
        _kill(child)
    assert line.startswith("committed ")
    assert {row.id for row in setup.rows()} == set(line.split()[1:])
    assert {row.status for row in setup.rows()} == {OutboxStatus.PENDING}
    assert document_posts(setup.ehr) == 0

    assert setup.worker.run_once() == 2
    rows = setup.rows()
    assert sorted(setup.identifier(row) for row in rows) == sorted(values)
    for row in rows:
        assert (row.status, row.attempts) == ("delivered", 1)
        assert stored_ids(setup.reader, setup.identifier(row)) == [setup.remote_id(row)]
    assert setup.worker.run_once() == 0
    assert document_posts(setup.ehr) == 2


def test_killed_after_the_ehr_wrote_but_before_recording(setup: Setup) -> None:
    value = new_value()
    enqueue_note(setup.db, setup.outbox, value)
    with setup.spawn("deliver-and-hang") as child:
        line = _line(child)
        _kill(child)
    assert line == "sent"
    (row,) = setup.rows()
    assert (row.status, row.attempts, setup.remote_id(row)) == ("delivering", 1, None)
    (remote_id,) = stored_ids(setup.reader, value)

    assert setup.worker.run_once() == 1  # the child's lease has run out on the worker's clock
    (row,) = setup.rows()
    assert (row.status, row.attempts, setup.remote_id(row)) == ("delivered", 2, remote_id)
    assert stored_ids(setup.reader, value) == [remote_id]
    assert document_posts(setup.ehr) == 2  # the redelivery matched the existing resource


def test_two_worker_processes_claim_each_item_once(setup: Setup) -> None:
    values = [new_value() for _ in range(30)]
    with setup.db.session() as session:
        for value in values:
            queue_note(session, setup.outbox, value)
    with setup.spawn("work") as first, setup.spawn("work") as second:
        children = [first, second]
        assert [_line(child) for child in children] == ["ready", "ready"]
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        done = [_line(child) for child in children]
    assert sum(int(line.removeprefix("done ")) for line in done) == len(values)
    rows = setup.rows()
    assert {(row.status, row.attempts) for row in rows} == {("delivered", 1)}
    assert document_posts(setup.ehr) == len(values)
    for row in rows:
        assert stored_ids(setup.reader, setup.identifier(row)) == [setup.remote_id(row)]
