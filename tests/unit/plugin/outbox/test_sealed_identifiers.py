# SPDX-License-Identifier: Apache-2.0
"""After delivery the outbox keeps no EHR identifier in the clear beside the patient pseudonym.

The identifier value (a random note id, or the ``Appointment/<id>/_history/<v>`` a Provenance
targets) and the EHR's id for the created resource are sealed with the row id as associated
data; idempotency rests on a keyed hash.  A raw dump of the table is what a database copy holds.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from plugin.crypto import Sealer
from plugin.crypto import SealError
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxStatus
from plugin.outbox import OutboxWorker
from plugin.outbox.services import remote_id_of
from plugin.store import Database
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.unit.plugin.outbox.support import STAFF
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import document
from tests.unit.plugin.outbox.support import document_posts
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import stored_ids
from tests.unit.plugin.outbox.test_target import provenance

TARGET = "Appointment/appt-7/_history/3"


def _dump(db: Database) -> str:
    """Every column of every outbox row as text, as a database copy would show it."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM outbox_items")).all()
    return "\n".join(
        bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
        for row in rows
        for v in row
    )


def _enqueue_both(db: Database, outbox: Outbox, tenant: str, value: str) -> tuple[str, str]:
    with db.session() as session:
        note = outbox.enqueue(
            session,
            tenant=tenant,
            resource=document(value),
            identifier_system=SYSTEM,
            identifier_value=value,
            created_by=STAFF,
            patient_pseudonym="pseudonym-1",
        )
        trail = outbox.enqueue(
            session,
            tenant=tenant,
            resource=provenance(TARGET),
            identifier_value=TARGET,
            created_by=STAFF,
            patient_pseudonym="pseudonym-1",
            search_param="target",
        )
    return note, trail


def test_a_delivered_row_holds_no_ehr_identifier_in_the_clear(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: Callable[..., OutboxWorker],
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
    payload_cipher: Sealer,
) -> None:
    value = new_value()
    note, trail = _enqueue_both(outbox_db, outbox, tenant, value)

    assert make_worker().run_once() == 2

    (document_id,) = stored_ids(ehr_reader, value)
    (provenance_body,) = [s.body for s in get_state(ehr.app).store.current("Provenance")]
    dump = _dump(outbox_db)
    assert "delivered" in dump
    assert "pseudonym-1" in dump
    for secret in (value, value.removeprefix("urn:uuid:"), TARGET, "appt-7", document_id):
        assert secret not in dump
    assert str(provenance_body["id"]) not in dump
    with outbox_db.session() as session:
        rows = {item_id: session.get_one(OutboxItem, item_id) for item_id in (note, trail)}
    assert remote_id_of(payload_cipher, rows[note]) == document_id
    assert remote_id_of(payload_cipher, rows[trail]) == provenance_body["id"]
    listed = {e.remote_id for e in outbox.list_for(tenant, statuses=["delivered"])}
    assert listed == {document_id, provenance_body["id"]}


def test_a_sealed_remote_id_does_not_open_on_another_row(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: Callable[..., OutboxWorker],
    payload_cipher: Sealer,
) -> None:
    first, second = _enqueue_both(outbox_db, outbox, tenant, new_value())
    make_worker().run_once()
    with outbox_db.session() as session:
        one, two = session.get_one(OutboxItem, first), session.get_one(OutboxItem, second)
        one.remote_id_sealed = two.remote_id_sealed
    with outbox_db.session() as session, pytest.raises(SealError):
        remote_id_of(payload_cipher, session.get_one(OutboxItem, first))


def test_the_same_identifier_cannot_be_queued_twice_even_after_delivery(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: Callable[..., OutboxWorker],
) -> None:
    value = new_value()
    _enqueue_both(outbox_db, outbox, tenant, value)
    make_worker().run_once()

    with pytest.raises(IntegrityError), outbox_db.session() as session:
        outbox.enqueue(
            session,
            tenant=tenant,
            resource=provenance(TARGET),
            identifier_value=TARGET,
            created_by=STAFF,
            search_param="target",
        )


def test_redelivery_after_the_identifier_was_dropped_is_still_idempotent(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    make_worker: Callable[..., OutboxWorker],
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
) -> None:
    value = new_value()
    with outbox_db.session() as session:
        item_id = outbox.enqueue(
            session,
            tenant=tenant,
            resource=document(value),
            identifier_system=SYSTEM,
            identifier_value=value,
            created_by=STAFF,
        )
        sealed = session.get_one(OutboxItem, item_id).sealed_payload
    worker = make_worker()
    assert worker.run_once() == 1
    with outbox_db.session() as session:  # the outcome was lost: deliver once more
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(status=OutboxStatus.PENDING.value, sealed_payload=sealed)
        )
    assert worker.run_once() == 1

    assert document_posts(ehr) == 2
    assert len(stored_ids(ehr_reader, value)) == 1
    (second,) = ehr.request_log.matching("/fhir/DocumentReference", "POST")[1:]
    assert second.headers["If-None-Exist"] == f"identifier={SYSTEM}|{value}"
