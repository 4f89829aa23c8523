# SPDX-License-Identifier: Apache-2.0
"""Minimal notes end to end: draft, lint, sign, outbox, the EHR's DocumentReference."""

from __future__ import annotations

import base64
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from plugin.audit.models import AuditEntry
from plugin.notes.documents import NOTE_IDENTIFIER_SYSTEM
from plugin.outbox.models import OutboxItem
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from plugin.store import Database
from plugin.vault.models import VaultRecord
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import csrf
from tests.support.forms import finding_ids
from tests.support.forms import textarea
from tests.support.reader import CONFIDENTIALITY
from tests.support.reader import ehr_documents
from tests.support.reader import reader_options
from tests.support.servers import Quietline
from tests.support.servers import map_admin_as_clinician
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A separate backend client the test uses to read what reached the EHR."""
    return reader_options()


def _home(walker: Walker, sandbox: RunningSandbox, user: str = "therapist") -> str:
    home = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", user))
    assert home.status_code == 200, home.text[:300]
    return home.url.rstrip("/")


def _draft(walker: Walker, base: str) -> requests.Response:
    index = walker.get(f"{base}/notes/")
    assert index.status_code == 200
    return walker.post(
        f"{base}/notes/draft",
        {"csrf": csrf(index.text), "screening_completed": "yes", "risk_review_completed": "yes",
         "overall_concern": "moderate", "safety_plan_offered": "yes", "referral_offered": "yes",
         "follow_up": "next-session"},
    )  # fmt: skip


def _deliver(quietline: Quietline) -> None:
    worker = get_service(OutboxWorker, quietline.app)
    assert worker.run_once() >= 1


def _ehr_documents(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return ehr_documents(sandbox, {"identifier": f"{NOTE_IDENTIFIER_SYSTEM}|"})


def _actions(quietline: Quietline) -> list[str]:
    with get_service(Database, quietline.app).session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_signed_note_reaches_the_ehr_labelled_and_minimal(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    base = _home(walker, sandbox)
    editor = _draft(walker, base)
    assert editor.status_code == 200
    text = textarea(editor.text, "note-text")
    assert "Safety screening completed." in text
    assert 'id="no-findings"' in editor.text
    signed = walker.post(
        f"{base}/notes/sign", {"csrf": csrf(editor.text), "text": text, "release": "release"}
    )
    assert signed.status_code == 200
    assert 'id="signed-notice"' in signed.text
    assert 'data-status="pending"' in signed.text

    _deliver(quietline)
    documents = _ehr_documents(sandbox)
    assert len(documents) == 1
    doc = documents[0]
    assert doc["status"] == "current"
    assert doc["docStatus"] == "final"
    assert doc["subject"]["reference"] == "Patient/pat-1"
    assert doc["type"]["coding"][0]["code"] == "11506-3"
    codes = [(label["system"], label["code"]) for label in doc["meta"]["security"]]
    assert [c for s, c in codes if s == CONFIDENTIALITY] == ["R"]
    assert {c for _, c in codes} == {"R", "SDV", "PSY", "NORDSCLCD"}
    assert [c["coding"][0]["code"] for c in doc["securityLabel"]] == [c for _, c in codes]
    body = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
    assert body == text.strip()
    assert "stalk" not in body.lower()
    assert "abuse" not in body.lower()
    page = walker.get(f"{base}/notes/")
    assert 'data-status="pending"' not in page.text  # only open deliveries are listed
    actions = set(_actions(quietline))
    assert {
        "notes:entry:sign",
        "vault:record:write",
        "launch:session:create",
        "outbox:write:deliver",
    } <= actions


def test_over_documentation_blocks_signing_until_removed_or_kept(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    base = _home(walker, sandbox)
    editor = _draft(walker, base)
    text = (
        textarea(editor.text, "note-text")
        + " Client's ex, Marcus Webb, followed her to 41 Alder Lane on 3 March."
    )
    checked = walker.post(f"{base}/notes/check", {"csrf": csrf(editor.text), "text": text})
    ids = finding_ids(checked.text)
    assert len(ids) >= 2
    refused = walker.post(
        f"{base}/notes/sign", {"csrf": csrf(checked.text), "text": text, "release": "release"}
    )
    assert refused.status_code == 400
    assert 'id="note-error"' in refused.text
    assert textarea(refused.text, "note-text") == text  # nothing lost
    with get_service(Database, quietline.app).session() as session:
        assert session.scalars(select(OutboxItem)).all() == []
    form = {"csrf": csrf(refused.text), "text": text, "release": "release"}
    for finding in ids:
        form[f"keep:{finding}"] = "yes"
        form[f"reason:{finding}"] = "Needed for the protective-order letter"
    signed = walker.post(f"{base}/notes/sign", form)
    assert signed.status_code == 200
    assert 'id="signed-notice"' in signed.text
    assert "notes:lint:keep" in _actions(quietline)


def test_withholding_needs_a_recorded_basis(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    base = _home(walker, sandbox)
    editor = _draft(walker, base)
    text = textarea(editor.text, "note-text")
    refused = walker.post(
        f"{base}/notes/sign", {"csrf": csrf(editor.text), "text": text, "release": "withhold"}
    )
    assert refused.status_code == 400
    assert "record the basis" in refused.text
    review = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    signed = walker.post(
        f"{base}/notes/sign",
        {"csrf": csrf(refused.text), "text": text, "release": "withhold", "basis": "171.201",
         "harm": "life-or-safety", "scope": "this-note", "review_on": review},
    )  # fmt: skip
    assert signed.status_code == 200
    _deliver(quietline)
    doc = _ehr_documents(sandbox)[0]
    assert "NOPAT" in {label["code"] for label in doc["meta"]["security"]}
    with get_service(Database, quietline.app).session() as session:
        kinds = set(session.scalars(select(VaultRecord.record_type)))
    assert {"signed-note", "release-basis"} <= kinds
    assert "notes:release:withhold" in _actions(quietline)


@pytest.fixture
def second_clinician(quietline: Quietline, sandbox: RunningSandbox) -> None:
    map_admin_as_clinician(quietline, sandbox)


def test_process_note_stays_in_the_vault_and_only_its_author_reads_it(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker, second_clinician: None
) -> None:
    base = _home(walker, sandbox)
    index = walker.get(f"{base}/notes/")
    secret = "Client described the argument in the car park in detail."
    saved = walker.post(f"{base}/notes/process", {"csrf": csrf(index.text), "text": secret})
    assert saved.status_code == 200
    assert get_service(OutboxWorker, quietline.app).run_once() == 0
    assert sandbox.request_log.matching("/fhir/DocumentReference", method="POST") == []
    with get_service(Database, quietline.app).session() as session:
        record_id = session.scalars(
            select(VaultRecord.id).where(VaultRecord.record_type == "process-note")
        ).one()
    own = walker.get(f"{base}/notes/records/{record_id}")
    assert own.status_code == 200
    assert secret in own.text

    other = Walker()
    other_base = _home(other, sandbox, user="admin")
    denied = other.get(f"{other_base}/notes/records/{record_id}")
    assert denied.status_code == 403
    assert secret not in denied.text
    opened = other.post(
        f"{other_base}/notes/records/{record_id}",
        {"csrf": csrf(denied.text), "reason": "Client in crisis; treating clinician unreachable"},
    )
    assert opened.status_code == 200
    assert secret in opened.text
    notices = walker.get(f"{base}/notes/")
    assert "opened with break-glass by Practitioner/admin" in notices.text
    assert "opened with break-glass" not in walker.get(f"{base}/notes/").text
    actions = _actions(quietline)
    assert "vault:record:deny" in actions
    assert "vault:record:break-glass" in actions


def test_front_desk_cannot_open_notes(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    base = _home(walker, sandbox, user="frontdesk")
    assert walker.get(f"{base}/notes/").status_code == 403


def test_destroyed_record_is_gone_for_good(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    base = _home(walker, sandbox)
    index = walker.get(f"{base}/notes/")
    walker.post(f"{base}/notes/process", {"csrf": csrf(index.text), "text": "to be destroyed"})
    with get_service(Database, quietline.app).session() as session:
        record_id = session.scalars(select(VaultRecord.id)).one()
    record = walker.get(f"{base}/notes/records/{record_id}")
    gone = walker.post(f"{base}/notes/records/{record_id}/destroy", {"csrf": csrf(record.text)})
    assert gone.status_code == 200
    assert walker.get(f"{base}/notes/records/{record_id}").status_code == 410
    with get_service(Database, quietline.app).session() as session:
        row = session.get(VaultRecord, record_id)
        assert row is not None
        assert row.ciphertext is None
        assert row.destroyed_at is not None
    assert "vault:record:destroy" in _actions(quietline)
