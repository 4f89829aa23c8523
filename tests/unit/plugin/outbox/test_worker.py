# SPDX-License-Identifier: Apache-2.0
"""OutboxWorker against the real sandbox EHR over HTTP, with an injected clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update

from plugin.crypto import Sealer
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxStatus
from plugin.outbox import OutboxWorker
from plugin.outbox.services import remote_id_of
from plugin.store import Database
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.outbox.support import STAFF
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import Clock
from tests.unit.plugin.outbox.support import document
from tests.unit.plugin.outbox.support import document_posts
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import stored_ids

MakeWorker = Callable[..., OutboxWorker]


def _enqueue(db: Database, outbox: Outbox, tenant: str, value: str, **doc: str) -> str:
    with db.session() as session:
        return outbox.enqueue(
            session,
            tenant=tenant,
            resource=document(value, **doc),
            identifier_system=SYSTEM,
            identifier_value=value,
            created_by=STAFF,
            patient_pseudonym="p1",
        )


def _row(db: Database, item_id: str) -> OutboxItem:
    with db.session() as session:
        return session.get_one(OutboxItem, item_id)


def test_delivery_creates_one_resource_and_records_its_id(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: MakeWorker,
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
    payload_cipher: Sealer,
) -> None:
    value = new_value()
    item_id = _enqueue(outbox_db, outbox, tenant, value)
    assert make_worker().run_once() == 1
    row = _row(outbox_db, item_id)
    assert row.status == OutboxStatus.DELIVERED
    assert row.attempts == 1
    assert row.delivered_at is not None
    assert row.lease_until is None
    assert row.last_error_code is None
    assert row.sealed_payload == b""
    assert stored_ids(ehr_reader, value) == [remote_id_of(payload_cipher, row)]
    (post,) = ehr.request_log.matching("/fhir/DocumentReference", "POST")
    assert post.headers["If-None-Exist"] == f"identifier={SYSTEM}|{value}"
    assert make_worker().run_once() == 0
    assert document_posts(ehr) == 1


def test_ehr_down_backs_off_then_delivers_exactly_once(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: MakeWorker,
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
    payload_cipher: Sealer,
    clock: Clock,
) -> None:
    worker = make_worker(base_delay=2.0, max_delay=30.0)
    _enqueue(outbox_db, outbox, tenant, new_value())
    assert worker.run_once() == 1  # discovery and token are cached from here on
    values = [new_value() for _ in range(3)]
    ids = [_enqueue(outbox_db, outbox, tenant, value) for value in values]

    ehr.config.faults.fhir_down = True
    due_times = []
    for attempt in range(1, 5):
        assert worker.run_once() == 3
        rows = [_row(outbox_db, item_id) for item_id in ids]
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
        row = _row(outbox_db, item_id)
        assert (row.status, row.attempts, row.last_error_code) == ("delivered", 5, None)
        assert stored_ids(ehr_reader, value) == [remote_id_of(payload_cipher, row)]


def test_unreachable_ehr_is_retried_too(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: MakeWorker,
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
    payload_cipher: Sealer,
    clock: Clock,
) -> None:
    """With the EHR down from the start, discovery fails first; that is transient as well."""
    value = new_value()
    item_id = _enqueue(outbox_db, outbox, tenant, value)
    ehr.config.faults.fhir_down = True
    worker = make_worker()
    assert worker.run_once() == 1
    row = _row(outbox_db, item_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error_code == "invalid_smart_configuration"
    ehr.config.faults.fhir_down = False
    clock.advance(1)
    assert worker.run_once() == 1
    assert stored_ids(ehr_reader, value) == [remote_id_of(payload_cipher, _row(outbox_db, item_id))]


def test_gives_up_after_max_attempts(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: MakeWorker,
    ehr: RunningSandbox,
    clock: Clock,
) -> None:
    item_id = _enqueue(outbox_db, outbox, tenant, new_value())
    ehr.config.faults.fhir_down = True
    worker = make_worker(max_attempts=3)
    for _ in range(3):
        assert worker.run_once() == 1
        clock.advance(10)
    row = _row(outbox_db, item_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert worker.run_once() == 0


def test_lost_answer_is_redelivered_once_after_the_lease_expires(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: MakeWorker,
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
    payload_cipher: Sealer,
    clock: Clock,
) -> None:
    value = new_value()
    item_id = _enqueue(outbox_db, outbox, tenant, value)
    sealed = _row(outbox_db, item_id).sealed_payload
    worker = make_worker(lease=60.0)
    assert worker.run_once() == 1
    remote_id = remote_id_of(payload_cipher, _row(outbox_db, item_id))
    # A crash after the EHR wrote but before we recorded it: the row still holds a lease
    # (and the payload, which is only cleared when the delivery is recorded).
    with outbox_db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(
                status="delivering",
                lease_until=_row(outbox_db, item_id).created_at + timedelta(seconds=60),
                claim_token="crashed-worker",
                sealed_payload=sealed,
                remote_id_sealed=None,
                identifier_value=value,
                delivered_at=None,
            )
        )
    assert worker.run_once() == 0  # the lease still runs
    clock.advance(61)
    assert worker.run_once() == 1
    row = _row(outbox_db, item_id)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert remote_id_of(payload_cipher, row) == remote_id
    assert stored_ids(ehr_reader, value) == [remote_id]
    assert document_posts(ehr) == 2  # the second POST matched the first resource


def test_abandoned_last_attempt_fails(
    outbox_db: Database, outbox: Outbox, tenant: str, make_worker: MakeWorker, clock: Clock
) -> None:
    item_id = _enqueue(outbox_db, outbox, tenant, new_value())
    with outbox_db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(
                status="delivering",
                attempts=2,
                lease_until=_row(outbox_db, item_id).created_at,
                claim_token="dead",
            )
        )
    clock.advance(1)
    assert make_worker(max_attempts=2).run_once() == 0
    row = _row(outbox_db, item_id)
    assert (row.status, row.last_error_code, row.claim_token) == ("failed", "lease_expired", None)


def test_invalid_resource_fails_without_retry_until_retried(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: MakeWorker,
    ehr: RunningSandbox,
    clock: Clock,
) -> None:
    item_id = _enqueue(outbox_db, outbox, tenant, new_value(), status="not-a-status")
    worker = make_worker()
    assert worker.run_once() == 1
    row = _row(outbox_db, item_id)
    assert (row.status, row.attempts, row.last_error_code) == ("failed", 1, "fhir_invalid:400")
    clock.advance(3600)
    assert worker.run_once() == 0
    assert document_posts(ehr) == 1
    assert [entry.id for entry in outbox.list_for(tenant, statuses=["failed"])] == [item_id]

    outbox.retry(item_id, tenant=tenant)
    row = _row(outbox_db, item_id)
    assert (row.status, row.attempts, row.last_error_code) == ("pending", 0, None)
    assert row.next_attempt_at.timestamp() == pytest.approx(clock.now)
    assert worker.run_once() == 1
    assert document_posts(ehr) == 2
    assert _row(outbox_db, item_id).status == OutboxStatus.FAILED


def test_tampered_payload_fails_without_contacting_the_ehr(
    outbox_db: Database, outbox: Outbox, tenant: str, make_worker: MakeWorker, ehr: RunningSandbox
) -> None:
    item_id = _enqueue(outbox_db, outbox, tenant, new_value())
    with outbox_db.session() as session:
        row = session.get_one(OutboxItem, item_id)
        row.sealed_payload = row.sealed_payload[:-1] + bytes([row.sealed_payload[-1] ^ 1])
    assert make_worker().run_once() == 1
    row = _row(outbox_db, item_id)
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
    outbox_db: Database, outbox: Outbox, tenant: str, make_worker: MakeWorker, clock: Clock
) -> None:
    ids = []
    for _ in range(3):
        ids.append(_enqueue(outbox_db, outbox, tenant, new_value()))
        clock.advance(1)
    worker = make_worker()
    assert worker.run_once(limit=2) == 2
    with outbox_db.session() as session:
        pending = session.scalars(select(OutboxItem.id).where(OutboxItem.status == "pending"))
        assert list(pending) == [ids[2]]


def test_thread_delivers_until_stopped(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: MakeWorker,
    ehr_reader: FhirClient,
    payload_cipher: Sealer,
) -> None:
    stop = threading.Event()
    thread = make_worker().start_thread(stop, interval=0.05)
    try:
        value = new_value()
        item_id = _enqueue(outbox_db, outbox, tenant, value)
        deadline = time.monotonic() + 20
        while _row(outbox_db, item_id).status != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored_ids(ehr_reader, value) == [
            remote_id_of(payload_cipher, _row(outbox_db, item_id))
        ]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
