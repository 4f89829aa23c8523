# SPDX-License-Identifier: Apache-2.0
"""A separate Quietline process for the recovery tests, killed (SIGKILL) by the parent.

``python child.py enqueue V...``: queue one note per identifier value in one transaction,
report ``committed <ids>`` and wait to be killed before any delivery.

``python child.py deliver-and-hang``: claim one item and send it to the EHR, report ``sent``
once the EHR has answered and wait to be killed before the outcome is recorded.

``python child.py work``: report ``ready``, wait for a line on stdin, deliver until nothing is
due and report ``done <count>``.

The database URL, keys and secrets come from :class:`ChildConfig` in the environment.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from fhir.resources.R4B.resource import Resource

from plugin.outbox import Outbox
from plugin.outbox import OutboxWorker
from plugin.outbox import ResourceCreator
from plugin.outbox import backend_client_factory
from plugin.store import Database
from smart_launch.fhir import CreateResult
from smart_launch.keys import ClientKeys
from tests.unit.plugin.outbox.support import BACKEND_SCOPE
from tests.unit.plugin.outbox.support import ChildConfig
from tests.unit.plugin.outbox.support import cipher
from tests.unit.plugin.outbox.support import queue_note
from tests.unit.plugin.outbox.support import tenant_repository


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _wait_to_be_killed() -> None:
    threading.Event().wait()


class HangAfterSend:
    """Wraps the real FHIR client: the EHR has written the resource when this hangs."""

    def __init__(self, inner: ResourceCreator) -> None:
        self._inner = inner

    def create(self, resource: Resource, *, if_none_exist: str | None = None) -> CreateResult:
        self._inner.create(resource, if_none_exist=if_none_exist)
        _say("sent")
        _wait_to_be_killed()
        raise AssertionError("unreachable")


def main(mode: str, args: list[str]) -> None:
    config = ChildConfig.from_env()
    db = Database(config.database_url)
    sealer = cipher(bytes.fromhex(config.payload_key))
    if mode == "enqueue":
        outbox = Outbox(db, sealer, index_key=bytes.fromhex(config.token_key))
        with db.session() as session:
            ids = [queue_note(session, outbox, value) for value in args]
        _say("committed " + " ".join(ids))
        _wait_to_be_killed()
    keys = ClientKeys.load(Path(config.keys_path))
    tenants = tenant_repository(db, bytes.fromhex(config.token_key), keys)
    clients = backend_client_factory(tenants, keys, BACKEND_SCOPE)
    if mode == "deliver-and-hang":
        OutboxWorker(db, sealer, lambda tenant: HangAfterSend(clients(tenant))).run_once(limit=1)
        _say("nothing was due")
        return
    worker = OutboxWorker(db, sealer, clients)
    _say("ready")
    sys.stdin.readline()
    total = 0
    while handled := worker.run_once(limit=5):
        total += handled
    _say(f"done {total}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
