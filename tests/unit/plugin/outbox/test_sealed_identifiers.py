# SPDX-License-Identifier: Apache-2.0
"""After delivery the outbox keeps no EHR identifier in the clear beside the patient pseudonym.

The identifier value (a random note id, or the ``Appointment/<id>/_history/<v>`` a Provenance
targets) and the EHR's id for the created resource are sealed with the row id as associated
data; idempotency rests on a keyed hash.  A raw dump of the table is what a database copy holds.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from plugin.crypto import SealError
from plugin.outbox import OutboxItem
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import MakeWorker
from tests.unit.plugin.outbox.support import Queue
from tests.unit.plugin.outbox.support import document_posts
from tests.unit.plugin.outbox.support import make_pending
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import outbox_text
from tests.unit.plugin.outbox.support import provenance
from tests.unit.plugin.outbox.support import queue_note
from tests.unit.plugin.outbox.support import queue_target
from tests.unit.plugin.outbox.support import stored_ids

TARGET = "Appointment/appt-7/_history/3"


def _enqueue_both(queue: Queue, value: str) -> tuple[str, str]:
    """A note and the Provenance of a signature, queued in one transaction."""
    options = {"tenant": queue.tenant, "patient_pseudonym": "pseudonym-1"}
    with queue.db.session() as session:
        note = queue_note(session, queue.outbox, value, **options)
        trail = queue_target(session, queue.outbox, provenance(TARGET), TARGET, **options)
    return note, trail


def test_a_delivered_row_holds_no_ehr_identifier_in_the_clear(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, ehr_reader: FhirClient
) -> None:
    value = new_value()
    note, trail = _enqueue_both(queue, value)

    assert make_worker().run_once() == 2

    (document_id,) = stored_ids(ehr_reader, value)
    (provenance_body,) = [s.body for s in get_state(ehr.app).store.current("Provenance")]
    dump = outbox_text(queue.db)
    assert "delivered" in dump
    assert "pseudonym-1" in dump
    for secret in (value, value.removeprefix("urn:uuid:"), TARGET, "appt-7", document_id):
        assert secret not in dump
    assert str(provenance_body["id"]) not in dump
    assert queue.remote_id(note) == document_id
    assert queue.remote_id(trail) == provenance_body["id"]
    listed = {e.remote_id for e in queue.outbox.list_for(queue.tenant, statuses=["delivered"])}
    assert listed == {document_id, provenance_body["id"]}


def test_a_sealed_remote_id_does_not_open_on_another_row(
    queue: Queue, make_worker: MakeWorker
) -> None:
    first, second = _enqueue_both(queue, new_value())
    make_worker().run_once()
    with queue.db.session() as session:
        one, two = session.get_one(OutboxItem, first), session.get_one(OutboxItem, second)
        one.remote_id_sealed = two.remote_id_sealed
    with pytest.raises(SealError):
        queue.remote_id(first)


def test_the_same_identifier_cannot_be_queued_twice_even_after_delivery(
    queue: Queue, make_worker: MakeWorker
) -> None:
    _enqueue_both(queue, new_value())
    make_worker().run_once()

    with pytest.raises(IntegrityError), queue.db.session() as session:
        queue_target(session, queue.outbox, provenance(TARGET), TARGET, tenant=queue.tenant)


def test_redelivery_after_the_identifier_was_dropped_is_still_idempotent(
    queue: Queue, make_worker: MakeWorker, ehr: RunningSandbox, ehr_reader: FhirClient
) -> None:
    value = new_value()
    item_id = queue.note(value)
    sealed = queue.row(item_id).sealed_payload
    worker = make_worker()
    assert worker.run_once() == 1
    make_pending(queue.db, item_id, sealed)  # the outcome was lost: deliver once more
    assert worker.run_once() == 1

    assert document_posts(ehr) == 2
    assert len(stored_ids(ehr_reader, value)) == 1
    (second,) = ehr.request_log.matching("/fhir/DocumentReference", "POST")[1:]
    assert second.headers["If-None-Exist"] == f"identifier={SYSTEM}|{value}"
