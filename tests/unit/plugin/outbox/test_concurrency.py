# SPDX-License-Identifier: Apache-2.0
"""Two workers in two threads, each with its own engine, never claim the same item twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import select

from plugin.crypto import Sealer
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxWorker
from plugin.outbox.services import identifier_of
from plugin.outbox.services import remote_id_of
from plugin.store import Database
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.outbox.support import STAFF
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import document
from tests.unit.plugin.outbox.support import document_posts
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import stored_ids

ITEMS = 30


def test_two_thread_workers_claim_each_item_once(
    database_url: str,
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: Callable[..., OutboxWorker],
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
    payload_cipher: Sealer,
) -> None:
    values = [new_value() for _ in range(ITEMS)]
    with outbox_db.session() as session:
        for value in values:
            outbox.enqueue(
                session,
                tenant=tenant,
                resource=document(value),
                identifier_system=SYSTEM,
                identifier_value=value,
                created_by=STAFF,
            )
    engines = [Database(database_url) for _ in range(2)]
    workers = [make_worker(db) for db in engines]
    start = threading.Barrier(len(workers))
    handled = [0] * len(workers)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait(timeout=10)
            while claimed := workers[index].run_once(limit=5):
                handled[index] += claimed
        except BaseException as exc:
            failures.append(exc)
            raise

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for db in engines:
        db.dispose()

    assert failures == []
    assert sum(handled) == ITEMS
    with outbox_db.session() as session:
        rows = list(session.scalars(select(OutboxItem)))
    assert {(row.status, row.attempts) for row in rows} == {("delivered", 1)}
    assert document_posts(ehr) == ITEMS
    by_value = {
        identifier_of(payload_cipher, row): remote_id_of(payload_cipher, row) for row in rows
    }
    for value in values:
        assert stored_ids(ehr_reader, value) == [by_value[value]]
