# SPDX-License-Identifier: Apache-2.0
"""An item remembers the launch that queued it (sealed), so the worker can use that user's token."""

from __future__ import annotations

from flask import Flask
from flask import g

from plugin.crypto import Sealer
from plugin.launch.store import LiveLaunch
from plugin.launch.store import StoredTokens
from plugin.outbox import Outbox
from plugin.outbox.services import launch_handle_of
from plugin.store import Database
from smart_launch.context import LaunchContext
from tests.unit.plugin.outbox.support import STAFF
from tests.unit.plugin.outbox.support import enqueue_note
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.outbox.support import outbox_text
from tests.unit.plugin.outbox.support import read_row

HANDLE = "launch-handle-Zx81q0rYt6mVbN4s"


def _live(handle: str) -> LiveLaunch:
    context = LaunchContext(
        tenant="ehr",
        iss="https://ehr.example/fhir",
        patient="pat-1",
        encounter=None,
        fhir_user=f"https://ehr.example/fhir/{STAFF}",
        scopes=("patient/DocumentReference.c",),
        need_patient_banner=False,
        smart_style_url=None,
    )
    return LiveLaunch(handle, context, ("clinician",), StoredTokens("at", 1e12))


def _enqueue(db: Database, outbox: Outbox, tenant: str, **options: str) -> str:
    return enqueue_note(db, outbox, new_value(), tenant=tenant, **options)


def test_the_launch_of_the_request_is_recorded_sealed(
    outbox_db: Database, outbox: Outbox, tenant: str, payload_cipher: Sealer
) -> None:
    app = Flask(__name__)
    with app.test_request_context("/l/x/notes/sign", method="POST"):
        g.launch = _live(HANDLE)
        item_id = _enqueue(outbox_db, outbox, tenant)

    assert HANDLE not in outbox_text(outbox_db)
    assert launch_handle_of(payload_cipher, read_row(outbox_db, item_id)) == HANDLE


def test_an_explicit_launch_wins_and_none_outside_a_request(
    outbox_db: Database, outbox: Outbox, tenant: str, payload_cipher: Sealer
) -> None:
    app = Flask(__name__)
    with app.test_request_context("/"):
        g.launch = _live(HANDLE)
        explicit = _enqueue(outbox_db, outbox, tenant, launch_handle="other-handle")
    outside = _enqueue(outbox_db, outbox, tenant)

    assert launch_handle_of(payload_cipher, read_row(outbox_db, explicit)) == "other-handle"
    assert launch_handle_of(payload_cipher, read_row(outbox_db, outside)) is None
