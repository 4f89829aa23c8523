# SPDX-License-Identifier: Apache-2.0
"""A delivery that cannot get a token needs attention: it stops, is listed, and can be retried.

The tenants here have no launch, so every delivery goes through Backend Services: a backend
client the sandbox does not know, or none at all, leaves the item in ``needs_attention``
instead of retrying it silently; registering a usable client and retrying delivers it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxItemNotFound
from plugin.outbox import OutboxStatus
from plugin.outbox import OutboxWorker
from plugin.outbox.interfaces import NoDeliveryCredentials
from plugin.outbox.interfaces import classify_failure
from plugin.store import Database
from plugin.tenants.services import BackendClient
from plugin.tenants.services import SqlTenantRepository
from plugin.tenants.services import TenantRegistration
from smart_launch.backend import TokenEndpointUnavailable
from smart_launch.errors import TokenRequestError
from smart_launch.errors import UpstreamUnavailable
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.outbox.support import BACKEND_CLIENT
from tests.unit.plugin.outbox.support import BACKEND_SCOPE
from tests.unit.plugin.outbox.support import STAFF
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import TENANT
from tests.unit.plugin.outbox.support import document
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import stored_ids

MakeWorker = Callable[..., OutboxWorker]


def _register(
    tenants: SqlTenantRepository, ehr: RunningSandbox, backend: BackendClient | None
) -> None:
    tenants.register(
        TenantRegistration(
            id=TENANT,
            name="Outbox test EHR",
            iss=ehr.fhir_base,
            client_id="launch-only",
            auth_method="private_key_jwt",
            scope="launch openid fhirUser",
            frame_origins=(ehr.url,),
            backend=backend,
            backend_on_launch_client=False,
        )
    )


def _enqueue(db: Database, outbox: Outbox, value: str) -> str:
    with db.session() as session:
        return outbox.enqueue(
            session,
            tenant=TENANT,
            resource=document(value),
            identifier_system=SYSTEM,
            identifier_value=value,
            created_by=STAFF,
            patient_pseudonym="p1",
        )


def _row(db: Database, item_id: str) -> OutboxItem:
    with db.session() as session:
        return session.get_one(OutboxItem, item_id)


def test_token_failures_are_sorted_into_attention_and_retry() -> None:
    assert classify_failure(NoDeliveryCredentials()) == ("no_delivery_credentials", "attention")
    assert classify_failure(TokenRequestError("refused")) == ("token_request_failed", "attention")
    assert classify_failure(TokenEndpointUnavailable("HTTP 503"))[1] == "retry"
    assert classify_failure(UpstreamUnavailable())[1] == "retry"


def test_no_backend_client_needs_attention_until_one_is_registered(
    outbox_db: Database,
    outbox: Outbox,
    outbox_tenants: SqlTenantRepository,
    ehr: RunningSandbox,
    ehr_reader: FhirClient,
    make_worker: MakeWorker,
) -> None:
    _register(outbox_tenants, ehr, None)
    value = new_value()
    item_id = _enqueue(outbox_db, outbox, value)
    worker = make_worker()

    assert worker.run_once() == 1
    row = _row(outbox_db, item_id)
    assert (row.status, row.last_error_code) == ("needs_attention", "no_delivery_credentials")
    assert worker.run_once() == 0
    assert [e.id for e in outbox.list_for(TENANT)] == [item_id]
    assert [e.id for e in outbox.needing_attention(TENANT, created_by=STAFF)] == [item_id]
    assert outbox.needing_attention(TENANT, created_by="Practitioner/other") == []

    _register(
        outbox_tenants,
        ehr,
        BackendClient(client_id=BACKEND_CLIENT, auth_method="private_key_jwt", scope=BACKEND_SCOPE),
    )
    with pytest.raises(OutboxItemNotFound):  # only whoever queued it, when asked so
        outbox.retry(item_id, tenant=TENANT, created_by="Practitioner/other")
    outbox.retry(item_id, tenant=TENANT, created_by=STAFF)
    assert _row(outbox_db, item_id).status == OutboxStatus.PENDING
    assert worker.run_once() == 1
    assert _row(outbox_db, item_id).status == OutboxStatus.DELIVERED
    assert len(stored_ids(ehr_reader, value)) == 1
    assert outbox.needing_attention(TENANT, created_by=STAFF) == []


def test_a_backend_client_the_ehr_refuses_needs_attention(
    outbox_db: Database,
    outbox: Outbox,
    outbox_tenants: SqlTenantRepository,
    ehr: RunningSandbox,
    make_worker: MakeWorker,
) -> None:
    unknown = BackendClient(client_id="unknown", auth_method="private_key_jwt", scope=BACKEND_SCOPE)
    _register(outbox_tenants, ehr, unknown)
    item_id = _enqueue(outbox_db, outbox, new_value())

    assert make_worker().run_once() == 1

    row = _row(outbox_db, item_id)
    assert row.status == "needs_attention"
    assert row.attempts == 1
    assert (row.last_error_code or "").startswith("token_request_failed")
    tokens = ehr.request_log.matching("/auth/token", "POST")
    assert [r.form.get("grant_type") for r in tokens] == ["client_credentials"]


def test_a_secret_backend_client_authenticates_with_its_secret(
    outbox_db: Database,
    outbox: Outbox,
    outbox_tenants: SqlTenantRepository,
    ehr: RunningSandbox,
    make_worker: MakeWorker,
) -> None:
    secret = "backend-secret-for-the-sandbox-000"
    backend = BackendClient(
        client_id="secret-backend",
        auth_method="client_secret_basic",
        scope=BACKEND_SCOPE,
        client_secret=secret,
    )
    _register(outbox_tenants, ehr, backend)
    _enqueue(outbox_db, outbox, new_value())

    make_worker().run_once()

    (token,) = ehr.request_log.matching("/auth/token", "POST")
    assert token.headers["Authorization"].startswith("Basic ")
    assert "client_assertion" not in token.form
    assert secret not in str(token.form)
