# SPDX-License-Identifier: Apache-2.0
"""OutboxWorker against the real sandbox EHR over HTTP, with an injected clock."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.outbox import OutboxItem
from plugin.outbox import OutboxStatus
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import Clock
from tests.unit.plugin.outbox.support import MakeWorker
from tests.unit.plugin.outbox.support import Queue
from tests.unit.plugin.outbox.support import document_posts
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import stored_ids
from tests.unit.plugin.outbox.support import update_row


def test_delivery_creates_one_resource_and_records_its_id(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, ehr_reader: FhirClient
) -> None:
    value = new_value()
    item_id = queue.note(value, patient_pseudonym="p1")
    assert make_worker().run_once() == 1
    row = queue.row(item_id)
    assert row.status == OutboxStatus.DELIVERED
    assert row.attempts == 1
    assert row.delivered_at is not None
    assert row.lease_until is None
    assert row.last_error_code is None
    assert row.sealed_payload == b""
    assert stored_ids(ehr_reader, value) == [queue.remote_id(item_id)]
    (post,) = ehr.request_log.matching("/fhir/DocumentReference", "POST")
    assert post.headers["If-None-Exist"] == f"identifier={SYSTEM}|{value}"
    assert make_worker().run_once() == 0
    assert document_posts(ehr) == 1


def test_ehr_down_backs_off_then_delivers_exactly_once(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, ehr_reader: FhirClient, clock: Clock
) -> None:
    worker = make_worker(base_delay=2.0, max_delay=30.0)
    queue.note(new_value(), patient_pseudonym="p1")
    assert worker.run_once() == 1  # discovery and token are cached from here on
    values = [new_value() for _ in range(3)]
    ids = [queue.note(value, patient_pseudonym="p1") for value in values]

    ehr.config.faults.fhir_down = True
    due_times = []
    for attempt in range(1, 5):
        assert worker.run_once() == 3
        rows = [queue.row(item_id) for item_id in ids]
        assert {row.status for row in rows} == {OutboxStatus.PENDING}
        assert {row.attempts for row in rows} == {attempt}
        assert {row.last_error_code for row in rows} == {"fhir_server_error:503"}
        waits = [row.next_attempt_at.timestamp() - clock.now for row in rows]
        expected = min(30.0, 2.0 * 2 ** (attempt - 1))
        assert all(expected / 2 <= wait <= expected for wait in waits)
        due_times.append(max(row.next_attempt_at for row in rows))
        assert worker.run_once() == 0  # nothing is due before the backoff ends
        clock.advance(expected)
    assert due_times == sorted(due_times)
    assert len(set(due_times)) == len(due_times)

    ehr.config.faults.fhir_down = False
    assert worker.run_once() == 3
    for item_id, value in zip(ids, values, strict=True):
        row = queue.row(item_id)
        assert (row.status, row.attempts, row.last_error_code) == ("delivered", 5, None)
        assert stored_ids(ehr_reader, value) == [queue.remote_id(item_id)]


def test_unreachable_ehr_is_retried_too(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, ehr_reader: FhirClient, clock: Clock
) -> None:
    """With the EHR down from the start, discovery fails first; that is transient as well."""
    value = new_value()
    item_id = queue.note(value, patient_pseudonym="p1")
    ehr.config.faults.fhir_down = True
    worker = make_worker()
    assert worker.run_once() == 1
    row = queue.row(item_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error_code == "invalid_smart_configuration"
    ehr.config.faults.fhir_down = False
    clock.advance(1)
    assert worker.run_once() == 1
    assert stored_ids(ehr_reader, value) == [queue.remote_id(item_id)]


def test_gives_up_after_max_attempts(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, clock: Clock
) -> None:
    item_id = queue.note(new_value(), patient_pseudonym="p1")
    ehr.config.faults.fhir_down = True
    worker = make_worker(max_attempts=3)
    for _ in range(3):
        assert worker.run_once() == 1
        clock.advance(10)
    row = queue.row(item_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert worker.run_once() == 0


def test_lost_answer_is_redelivered_once_after_the_lease_expires(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, ehr_reader: FhirClient, clock: Clock
) -> None:
    value = new_value()
    item_id = queue.note(value, patient_pseudonym="p1")
    sealed = queue.row(item_id).sealed_payload
    worker = make_worker(lease=60.0)
    assert worker.run_once() == 1
    remote_id = queue.remote_id(item_id)
    # A crash after the EHR wrote but before we recorded it: the row still holds a lease
    # (and the payload, which is only cleared when the delivery is recorded).
    update_row(
        queue.db,
        item_id,
        status="delivering",
        lease_until=queue.row(item_id).created_at + timedelta(seconds=60),
        claim_token="crashed-worker",
        sealed_payload=sealed,
        remote_id_sealed=None,
        identifier_value=value,
        delivered_at=None,
    )
    assert worker.run_once() == 0  # the lease still runs
    clock.advance(61)
    assert worker.run_once() == 1
    row = queue.row(item_id)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert queue.remote_id(item_id) == remote_id
    assert stored_ids(ehr_reader, value) == [remote_id]
    assert document_posts(ehr) == 2  # the second POST matched the first resource


def test_abandoned_last_attempt_fails(queue: Queue, make_worker: MakeWorker, clock: Clock) -> None:
    item_id = queue.note(new_value(), patient_pseudonym="p1")
    lease_until = queue.row(item_id).created_at
    update_row(
        queue.db,
        item_id,
        status="delivering",
        attempts=2,
        lease_until=lease_until,
        claim_token="dead",
    )
    clock.advance(1)
    assert make_worker(max_attempts=2).run_once() == 0
    row = queue.row(item_id)
    assert (row.status, row.last_error_code, row.claim_token) == ("failed", "lease_expired", None)


def test_invalid_resource_fails_without_retry_until_retried(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, clock: Clock
) -> None:
    item_id = queue.note(new_value(), status="not-a-status", patient_pseudonym="p1")
    worker = make_worker()
    assert worker.run_once() == 1
    row = queue.row(item_id)
    assert (row.status, row.attempts, row.last_error_code) == ("failed", 1, "fhir_invalid:400")
    clock.advance(3600)
    assert worker.run_once() == 0
    assert document_posts(ehr) == 1
    failed = queue.outbox.list_for(queue.tenant, statuses=["failed"])
    assert [entry.id for entry in failed] == [item_id]

    queue.outbox.retry(item_id, tenant=queue.tenant)
    row = queue.row(item_id)
    assert (row.status, row.attempts, row.last_error_code) == ("pending", 0, None)
    assert row.next_attempt_at.timestamp() == pytest.approx(clock.now)
    assert worker.run_once() == 1
    assert document_posts(ehr) == 2
    assert queue.row(item_id).status == OutboxStatus.FAILED


def test_tampered_payload_fails_without_contacting_the_ehr(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox
) -> None:
    item_id = queue.note(new_value(), patient_pseudonym="p1")
    with queue.db.session() as session:
        row = session.get_one(OutboxItem, item_id)
        row.sealed_payload = row.sealed_payload[:-1] + bytes([row.sealed_payload[-1] ^ 1])
    assert make_worker().run_once() == 1
    row = queue.row(item_id)
    assert (row.status, row.last_error_code) == ("failed", "seal_error")
    assert document_posts(ehr) == 0


def test_backoff_is_capped_and_jittered(make_worker: MakeWorker) -> None:
    low = make_worker(base_delay=1.0, max_delay=300.0, jitter=lambda: 0.0)
    high = make_worker(base_delay=1.0, max_delay=300.0, jitter=lambda: 0.999999)
    assert [low.backoff(n) for n in (1, 2, 3, 10, 100)] == [0.5, 1.0, 2.0, 150.0, 150.0]
    assert high.backoff(3) == pytest.approx(4.0)
    assert high.backoff(100) == pytest.approx(300.0)
    with pytest.raises(ValueError, match="positive"):
        make_worker(lease=0)


def test_claims_oldest_first_within_the_limit(
    queue: Queue, make_worker: MakeWorker, clock: Clock
) -> None:
    ids = []
    for _ in range(3):
        ids.append(queue.note(new_value(), patient_pseudonym="p1"))
        clock.advance(1)
    worker = make_worker()
    assert worker.run_once(limit=2) == 2
    with queue.db.session() as session:
        pending = session.scalars(select(OutboxItem.id).where(OutboxItem.status == "pending"))
        assert list(pending) == [ids[2]]


def test_thread_delivers_until_stopped(
    queue: Queue, make_worker: MakeWorker, ehr_reader: FhirClient
) -> None:
    stop = threading.Event()
    thread = make_worker().start_thread(stop, interval=0.05)
    try:
        value = new_value()
        item_id = queue.note(value, patient_pseudonym="p1")
        deadline = time.monotonic() + 20
        while queue.row(item_id).status != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored_ids(ehr_reader, value) == [queue.remote_id(item_id)]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
