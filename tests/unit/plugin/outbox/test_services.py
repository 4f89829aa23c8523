# SPDX-License-Identifier: Apache-2.0
"""Outbox.enqueue commits with the caller's transaction; list_for and retry for the UI."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.documentreference import DocumentReference
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from plugin.crypto import Sealer
from plugin.crypto import SealError
from plugin.outbox import MissingIdempotencyKey
from plugin.outbox import NotRetryable
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxItemNotFound
from plugin.outbox import OutboxStatus
from plugin.outbox import PayloadCipher
from plugin.outbox.services import payload_aad
from plugin.store import Database
from plugin.tenants.models import Tenant
from tests.unit.plugin.outbox.support import STAFF
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import Clock
from tests.unit.plugin.outbox.support import all_rows
from tests.unit.plugin.outbox.support import document
from tests.unit.plugin.outbox.support import enqueue_note
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import queue_note

LOCAL_TENANT = {
    "id": "local",
    "name": "x",
    "iss": "https://x.test/fhir",
    "client_id": "c",
    "auth_method": "private_key_jwt",
    "scope": "s",
}
"""The local change made in the same transaction as the EHR write: a new tenant row."""


class LocalChangeFailed(Exception):
    """Raised inside the transaction to make it roll back."""


def _enqueue(db: Database, outbox: Outbox, tenant: str, value: str, pseudonym: str = "p1") -> str:
    return enqueue_note(db, outbox, value, tenant=tenant, patient_pseudonym=pseudonym)


def test_sealer_is_a_payload_cipher() -> None:
    sealer: PayloadCipher = Sealer(b"k" * 32, "outbox")
    assert sealer.open(sealer.seal(b"x", aad=b"a"), aad=b"a") == b"x"


def _local_change_and_write(db: Database, outbox: Outbox, tenant: str, *, fail: bool) -> None:
    """A local change and its EHR write in one transaction, which fails at the end."""
    with db.session() as session:
        session.add(Tenant(**LOCAL_TENANT))
        queue_note(session, outbox, new_value(), tenant=tenant)
        session.flush()
        if fail:
            raise LocalChangeFailed


def test_rolled_back_transaction_leaves_no_item_and_no_local_change(
    outbox_db: Database, outbox: Outbox, tenant: str
) -> None:
    with pytest.raises(LocalChangeFailed):
        _local_change_and_write(outbox_db, outbox, tenant, fail=True)
    assert all_rows(outbox_db) == []
    with outbox_db.session() as session:
        assert session.get(Tenant, "local") is None
    _local_change_and_write(outbox_db, outbox, tenant, fail=False)
    assert [item.status for item in all_rows(outbox_db)] == ["pending"]
    with outbox_db.session() as session:
        assert session.get(Tenant, "local") is not None


def test_committed_transaction_leaves_a_pending_sealed_item(
    outbox_db: Database, outbox: Outbox, tenant: str, clock: Clock, payload_cipher: Sealer
) -> None:
    value = new_value()
    item_id = _enqueue(outbox_db, outbox, tenant, value)
    (item,) = all_rows(outbox_db)
    assert item.id == item_id
    assert item.status == OutboxStatus.PENDING
    assert item.attempts == 0
    assert item.kind == "create"
    assert item.resource_type == "DocumentReference"
    assert (item.identifier_system, item.identifier_value) == (SYSTEM, value)
    assert item.next_attempt_at.timestamp() == pytest.approx(clock.now)
    assert item.created_by == STAFF
    assert b"safety" not in item.sealed_payload
    opened = payload_cipher.open(item.sealed_payload, aad=payload_aad(item))
    assert DocumentReference.model_validate_json(opened) == document(value)


def test_payload_is_bound_to_its_row(
    outbox_db: Database, outbox: Outbox, tenant: str, payload_cipher: Sealer
) -> None:
    first = _enqueue(outbox_db, outbox, tenant, new_value())
    second = _enqueue(outbox_db, outbox, tenant, new_value())
    with outbox_db.session() as session:
        a, b = session.get_one(OutboxItem, first), session.get_one(OutboxItem, second)
        with pytest.raises(SealError):
            payload_cipher.open(a.sealed_payload, aad=payload_aad(b))


@pytest.mark.parametrize(
    ("carried", "system", "value"),
    [
        (None, SYSTEM, "urn:uuid:1"),
        ("urn:uuid:2", SYSTEM, "urn:uuid:1"),
        ("urn:uuid:1", "urn:other", "urn:uuid:1"),
        ("a|b", SYSTEM, "a|b"),
        ("urn:uuid:1", "", "urn:uuid:1"),
    ],
)
def test_resource_must_carry_the_idempotency_identifier(
    outbox_db: Database,
    outbox: Outbox,
    tenant: str,
    carried: str | None,
    system: str,
    value: str,
) -> None:
    resource = document(carried or "x")
    if carried is None:
        resource.identifier = None
    with pytest.raises(MissingIdempotencyKey), outbox_db.session() as session:
        outbox.enqueue(
            session,
            tenant=tenant,
            resource=resource,
            identifier_system=system,
            identifier_value=value,
            created_by=STAFF,
        )
    assert all_rows(outbox_db) == []


def test_only_create_is_supported(outbox_db: Database, outbox: Outbox, tenant: str) -> None:
    with pytest.raises(ValueError, match="only 'create'"), outbox_db.session() as session:
        queue_note(session, outbox, "v", tenant=tenant, kind="update")


def test_list_for_filters_by_patient_and_status_newest_first(
    outbox_db: Database, outbox: Outbox, tenant: str, clock: Clock
) -> None:
    first = _enqueue(outbox_db, outbox, tenant, new_value(), "p1")
    clock.advance(1)
    second = _enqueue(outbox_db, outbox, tenant, new_value(), "p1")
    clock.advance(1)
    other = _enqueue(outbox_db, outbox, tenant, new_value(), "p2")
    with outbox_db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == first)
            .values(status="delivered", remote_id="r1")
        )
    assert [e.id for e in outbox.list_for(tenant)] == [other, second]
    assert [e.id for e in outbox.list_for(tenant, "p1")] == [second]
    delivered = outbox.list_for(tenant, "p1", statuses=[OutboxStatus.DELIVERED])
    assert [(e.id, e.remote_id) for e in delivered] == [(first, "r1")]
    assert outbox.list_for("another-tenant") == []
    assert outbox.get(tenant, second).status == OutboxStatus.PENDING
    with pytest.raises(OutboxItemNotFound):
        outbox.get("another-tenant", second)


def test_retry_refuses_items_that_are_not_failed_or_not_the_tenants(
    outbox_db: Database, outbox: Outbox, tenant: str
) -> None:
    item_id = _enqueue(outbox_db, outbox, tenant, new_value())
    with pytest.raises(NotRetryable):
        outbox.retry(item_id, tenant=tenant)
    with pytest.raises(OutboxItemNotFound):
        outbox.retry(item_id, tenant="another-tenant")
    with pytest.raises(OutboxItemNotFound):
        outbox.retry("no-such-item", tenant=tenant)
    with outbox_db.session() as session:
        count = session.scalar(select(func.count()).select_from(OutboxItem))
    assert count == 1
