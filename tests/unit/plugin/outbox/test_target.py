# SPDX-License-Identifier: Apache-2.0
"""A Provenance is queued idempotent on the version it targets (``If-None-Exist: target=``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fhir.resources.R4B.provenance import Provenance
from sqlalchemy import select

from plugin.crypto import Sealer
from plugin.crypto import SealError
from plugin.outbox import MissingIdempotencyKey
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxStatus
from plugin.outbox import OutboxWorker
from plugin.outbox.services import if_none_exist
from plugin.outbox.services import payload_aad
from plugin.outbox.services import remote_id_of
from plugin.store import Database
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import enqueue_note
from tests.unit.plugin.outbox.support import make_pending
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import provenance
from tests.unit.plugin.outbox.support import queue_note
from tests.unit.plugin.outbox.support import queue_target
from tests.unit.plugin.outbox.support import read_row

TARGET = "Appointment/appt-1-next/_history/2"


def _enqueue(db: Database, outbox: Outbox, tenant: str, resource: Provenance, value: str) -> str:
    with db.session() as session:
        return queue_target(session, outbox, resource, value, tenant=tenant)


def _stored_provenances(ehr: RunningSandbox) -> list[dict[str, object]]:
    return [stored.body for stored in get_state(ehr.app).store.current("Provenance")]


def test_condition_is_the_target_reference() -> None:
    assert if_none_exist("", TARGET, "target") == f"target={TARGET}"
    assert if_none_exist(SYSTEM, "v") == f"identifier={SYSTEM}|v"


def test_target_item_is_sealed_with_its_search_parameter(
    outbox_db: Database, outbox: Outbox, tenant: str, payload_cipher: Sealer
) -> None:
    item_id = _enqueue(outbox_db, outbox, tenant, provenance(TARGET), TARGET)
    with outbox_db.session() as session:
        item = session.get_one(OutboxItem, item_id)
        assert (item.search_param, item.identifier_system, item.identifier_value) == (
            "target",
            "",
            TARGET,
        )
        assert payload_cipher.open(item.sealed_payload, aad=payload_aad(item))
        item.search_param = "identifier"  # a row changed behind the outbox's back
        with pytest.raises(SealError):
            payload_cipher.open(item.sealed_payload, aad=payload_aad(item))


@pytest.mark.parametrize("value", ["Appointment/other/_history/2", "", "Appointment/a,b"])
def test_resource_must_target_the_value(
    outbox_db: Database, outbox: Outbox, tenant: str, value: str
) -> None:
    with pytest.raises(MissingIdempotencyKey):
        _enqueue(outbox_db, outbox, tenant, provenance(TARGET), value)
    with outbox_db.session() as session:
        assert session.scalars(select(OutboxItem)).all() == []


def test_unknown_search_parameter_is_refused(
    outbox_db: Database, outbox: Outbox, tenant: str
) -> None:
    with outbox_db.session() as session, pytest.raises(ValueError, match="search"):
        queue_note(session, outbox, new_value(), tenant=tenant, search_param="subject")


def test_identifier_items_keep_their_path(outbox_db: Database, outbox: Outbox, tenant: str) -> None:
    item_id = enqueue_note(outbox_db, outbox, new_value(), tenant=tenant)
    assert read_row(outbox_db, item_id).search_param == "identifier"


def test_worker_delivers_a_provenance_once_even_when_redelivered(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    ehr: RunningSandbox,
    make_worker: Callable[..., OutboxWorker],
    payload_cipher: Sealer,
) -> None:
    item_id = _enqueue(outbox_db, outbox, tenant, provenance(TARGET), TARGET)
    sealed = read_row(outbox_db, item_id).sealed_payload
    worker = make_worker()

    assert worker.run_once() == 1
    # The answer was lost: the item goes back to pending and is delivered a second time.
    make_pending(outbox_db, item_id, sealed)
    assert worker.run_once() == 1

    posts = ehr.request_log.matching("/fhir/Provenance", "POST")
    assert [post.headers.get("If-None-Exist") for post in posts] == [f"target={TARGET}"] * 2
    stored = _stored_provenances(ehr)
    assert len(stored) == 1
    assert stored[0]["target"] == [{"reference": TARGET}]
    item = read_row(outbox_db, item_id)
    assert item.status == OutboxStatus.DELIVERED
    assert remote_id_of(payload_cipher, item) == stored[0]["id"]
