# SPDX-License-Identifier: Apache-2.0
"""A delivery that cannot get a token needs attention: it stops, is listed, and can be retried.

The tenants here have no launch, so every delivery goes through Backend Services: a backend
client the sandbox does not know, or none at all, leaves the item in ``needs_attention``
instead of retrying it silently; registering a usable client and retrying delivers it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugin.crypto import Sealer
from plugin.outbox import Outbox
from plugin.outbox import OutboxItemNotFound
from plugin.outbox import OutboxStatus
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
from tests.unit.plugin.outbox.support import TENANT
from tests.unit.plugin.outbox.support import MakeWorker
from tests.unit.plugin.outbox.support import Queue
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import stored_ids

Register = Callable[[BackendClient | None], Queue]


@pytest.fixture
def register(
    outbox_db: Database,
    outbox: Outbox,
    payload_cipher: Sealer,
    outbox_tenants: SqlTenantRepository,
    ehr: RunningSandbox,
) -> Register:
    """(Re-)registers the sandbox as a launch-only tenant with ``backend``; returns its queue."""

    def register(backend: BackendClient | None) -> Queue:
        outbox_tenants.register(
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
        return Queue(outbox_db, outbox, TENANT, payload_cipher)

    return register


def test_token_failures_are_sorted_into_attention_and_retry() -> None:
    assert classify_failure(NoDeliveryCredentials()) == ("no_delivery_credentials", "attention")
    assert classify_failure(TokenRequestError("refused")) == ("token_request_failed", "attention")
    assert classify_failure(TokenEndpointUnavailable("HTTP 503"))[1] == "retry"
    assert classify_failure(UpstreamUnavailable())[1] == "retry"


def test_no_backend_client_needs_attention_until_one_is_registered(
    register: Register, ehr_reader: FhirClient, make_worker: MakeWorker
) -> None:
    queue = register(None)
    outbox = queue.outbox
    value = new_value()
    item_id = queue.note(value, patient_pseudonym="p1")
    worker = make_worker()

    assert worker.run_once() == 1
    row = queue.row(item_id)
    assert (row.status, row.last_error_code) == ("needs_attention", "no_delivery_credentials")
    assert worker.run_once() == 0
    assert [e.id for e in outbox.list_for(TENANT)] == [item_id]
    assert [e.id for e in outbox.needing_attention(TENANT, created_by=STAFF)] == [item_id]
    assert outbox.needing_attention(TENANT, created_by="Practitioner/other") == []

    register(
        BackendClient(client_id=BACKEND_CLIENT, auth_method="private_key_jwt", scope=BACKEND_SCOPE)
    )
    with pytest.raises(OutboxItemNotFound):  # only whoever queued it, when asked so
        outbox.retry(item_id, tenant=TENANT, created_by="Practitioner/other")
    outbox.retry(item_id, tenant=TENANT, created_by=STAFF)
    assert queue.row(item_id).status == OutboxStatus.PENDING
    assert worker.run_once() == 1
    assert queue.row(item_id).status == OutboxStatus.DELIVERED
    assert len(stored_ids(ehr_reader, value)) == 1
    assert outbox.needing_attention(TENANT, created_by=STAFF) == []


def test_a_backend_client_the_ehr_refuses_needs_attention(
    register: Register, ehr: RunningSandbox, make_worker: MakeWorker
) -> None:
    unknown = BackendClient(client_id="unknown", auth_method="private_key_jwt", scope=BACKEND_SCOPE)
    queue = register(unknown)
    item_id = queue.note(new_value(), patient_pseudonym="p1")

    assert make_worker().run_once() == 1

    row = queue.row(item_id)
    assert row.status == "needs_attention"
    assert row.attempts == 1
    assert (row.last_error_code or "").startswith("token_request_failed")
    tokens = ehr.request_log.matching("/auth/token", "POST")
    assert [r.form.get("grant_type") for r in tokens] == ["client_credentials"]


def test_a_secret_backend_client_authenticates_with_its_secret(
    register: Register, ehr: RunningSandbox, make_worker: MakeWorker
) -> None:
    secret = "backend-secret-for-the-sandbox-000"
    backend = BackendClient(
        client_id="secret-backend",
        auth_method="client_secret_basic",
        scope=BACKEND_SCOPE,
        client_secret=secret,
    )
    register(backend).note(new_value(), patient_pseudonym="p1")

    make_worker().run_once()

    (token,) = ehr.request_log.matching("/auth/token", "POST")
    assert token.headers["Authorization"].startswith("Basic ")
    assert "client_assertion" not in token.form
    assert secret not in str(token.form)
