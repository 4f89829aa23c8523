# SPDX-License-Identifier: Apache-2.0
"""Two workers in two threads, each with its own engine, never claim the same item twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from plugin.outbox.services import identifier_of
from plugin.outbox.services import remote_id_of
from plugin.store import Database
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.outbox.support import MakeWorker
from tests.unit.plugin.outbox.support import Queue
from tests.unit.plugin.outbox.support import all_rows
from tests.unit.plugin.outbox.support import document_posts
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import queue_note
from tests.unit.plugin.outbox.support import stored_ids

ITEMS = 30


def test_two_thread_workers_claim_each_item_once(
    database_url: str,
    queue: Queue,
    make_worker: MakeWorker,
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
) -> None:
    values = [new_value() for _ in range(ITEMS)]
    with queue.db.session() as session:
        for value in values:
            queue_note(session, queue.outbox, value, tenant=queue.tenant)
    engines = [Database(database_url) for _ in range(2)]
    start = threading.Barrier(len(engines))

    def work(db: Database) -> int:
        """Deliver until nothing is due; a failure is raised again by ``pool.map``."""
        worker = make_worker(db)
        start.wait(timeout=10)
        handled = 0
        while claimed := worker.run_once(limit=5):
            handled += claimed
        return handled

    try:
        with ThreadPoolExecutor(max_workers=len(engines)) as pool:
            handled = list(pool.map(work, engines, timeout=120))
    finally:
        for db in engines:
            db.dispose()

    assert sum(handled) == ITEMS
    rows = all_rows(queue.db)
    assert {(row.status, row.attempts) for row in rows} == {("delivered", 1)}
    assert document_posts(ehr) == ITEMS
    by_value = {identifier_of(queue.cipher, row): remote_id_of(queue.cipher, row) for row in rows}
    for value in values:
        assert stored_ids(ehr_reader, value) == [by_value[value]]
