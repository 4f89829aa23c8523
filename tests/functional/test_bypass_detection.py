# SPDX-License-Identifier: Apache-2.0
"""Bypass detection against the sandbox EHR: changes made in the EHR without a grant are caught."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from plugin.audit.interfaces import AuditAction
from plugin.audit.models import AuditEntry
from plugin.codeword.errors import ChangeRecordPending
from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import PatientFacts
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.interfaces import VerifyOutcome
from plugin.codeword.models import ChangeIntent
from plugin.codeword.models import CodewordGrant
from plugin.codeword.reconcile import Reconciler
from plugin.codeword.reconcile import fingerprint
from plugin.codeword.services import CodewordService
from plugin.outbox.models import OutboxItem
from plugin.outbox.services import Outbox
from plugin.registry import get_service
from plugin.store import Database
from plugin.vault.models import Notice
from smart_launch.sandbox.seed import APPOINTMENTS
from smart_launch.sandbox.seed import THERAPIST
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.support.servers import Quietline
from tests.unit.plugin.codeword.ui_support import Person
from tests.unit.plugin.codeword.ui_support import text_of

WORD = "lanternorchard"
CLINICIAN = f"Practitioner/{THERAPIST}"
FRONT_DESK = "Practitioner/frontdesk"


@pytest.fixture
def setup(quietline: Quietline, sandbox: RunningSandbox) -> tuple[CodewordService, Reconciler]:
    codewords = get_service(CodewordService, quietline.app)
    reconciler = get_service(Reconciler, quietline.app)
    codewords.enroll(
        tenant="sandbox",
        patient_id="pat-1",
        word=WORD,
        confirm=WORD,
        facts=PatientFacts(names=("Test",), birth_date="1990-01-01"),
        actor=CLINICIAN,
        client_present=True,
    )
    return codewords, reconciler


def _first_pass(
    setup: tuple[CodewordService, Reconciler], patient: str = "pat-1"
) -> tuple[Reconciler, str]:
    """Run the reconciler's first pass; return it and ``patient``'s next appointment id."""
    _, reconciler = setup
    reconciler.run_once("sandbox")
    _, next_id, _ = APPOINTMENTS[patient]
    return reconciler, next_id


def _ehr_edit(sandbox: RunningSandbox, appointment_id: str, **changes: Any) -> None:
    """A change made by someone working in the EHR itself (not through Quietline)."""
    store = get_state(sandbox.app).store
    current = store.read("Appointment", appointment_id)
    assert current is not None
    body = json.loads(json.dumps(current.body))
    body.update(changes)
    store.update(
        "Appointment", appointment_id, body, if_match=current.version, require_if_match=False
    )


def _verified(codewords: CodewordService, action: Action, appointment_id: str | None) -> str:
    """The front desk verifies a caller with the right word; returns the grant's token."""
    result = codewords.verify(
        tenant="sandbox",
        patient_id="pat-1",
        word=WORD,
        action=action,
        appointment_id=appointment_id,
        staff=FRONT_DESK,
    )
    assert result.outcome is VerifyOutcome.GRANTED
    assert result.grant is not None
    return result.grant.token


def _actions(quietline: Quietline, action: AuditAction) -> list[AuditEntry]:
    with get_service(Database, quietline.app).session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def _notices(quietline: Quietline) -> list[Notice]:
    with get_service(Database, quietline.app).session() as session:
        return list(session.scalars(select(Notice)).all())


def test_first_pass_records_and_raises_nothing(
    quietline: Quietline, setup: tuple[CodewordService, Reconciler]
) -> None:
    _, reconciler = setup
    report = reconciler.run_once("sandbox")
    assert report.checked >= 2  # pat-1's appointments are read
    assert report.bypasses == 0
    assert _actions(quietline, AuditAction.APPOINTMENT_BYPASS) == []


def test_an_ehr_change_without_a_grant_alerts_clinician_and_admin(
    quietline: Quietline, sandbox: RunningSandbox, setup: tuple[CodewordService, Reconciler]
) -> None:
    reconciler, next_id = _first_pass(setup)
    _ehr_edit(sandbox, next_id, status="cancelled")

    report = reconciler.run_once("sandbox")

    assert report.bypasses == 1
    entries = _actions(quietline, AuditAction.APPOINTMENT_BYPASS)
    assert len(entries) == 1
    assert next_id not in json.dumps(entries[0].detail)  # only the keyed hash
    recipients = {
        n.recipient for n in _notices(quietline) if n.kind == "change-without-verification"
    }
    assert recipients == {CLINICIAN, "role:admin"}
    with get_service(Database, quietline.app).session() as session:
        kinds = {item.resource_type for item in session.scalars(select(OutboxItem)).all()}
    assert "Communication" in kinds
    # The same change is reported once, not on every pass.
    assert reconciler.run_once("sandbox").bypasses == 0


def test_workflow_updates_are_not_changes(
    sandbox: RunningSandbox, setup: tuple[CodewordService, Reconciler]
) -> None:
    reconciler, next_id = _first_pass(setup)
    _ehr_edit(sandbox, next_id, status="checked-in", comment="Arrived at reception")
    assert reconciler.run_once("sandbox").bypasses == 0


def test_a_change_backed_by_a_used_grant_is_not_a_bypass(
    quietline: Quietline, sandbox: RunningSandbox, setup: tuple[CodewordService, Reconciler]
) -> None:
    codewords, _ = setup
    reconciler, next_id = _first_pass(setup)
    token = _verified(codewords, Action.CANCEL, next_id)
    grant = codewords.claim(
        tenant="sandbox",
        token=token,
        staff=FRONT_DESK,
        action=Action.CANCEL,
        appointment_id=next_id,
        patient_id="pat-1",
    )
    _ehr_edit(sandbox, next_id, status="cancelled")
    codewords.complete(tenant="sandbox", grant_id=grant.id, result_version="2")

    assert reconciler.run_once("sandbox").bypasses == 0
    assert _actions(quietline, AuditAction.APPOINTMENT_BYPASS) == []


def test_a_booking_without_verification_is_caught_when_the_protocol_covers_booking(
    quietline: Quietline, sandbox: RunningSandbox, setup: tuple[CodewordService, Reconciler]
) -> None:
    codewords, reconciler = setup
    protocol = VerificationPolicy(
        actions=frozenset({Action.BOOK, Action.RESCHEDULE, Action.CANCEL})
    )
    codewords.policies.save("sandbox", protocol, actor="Practitioner/admin-test")
    reconciler.run_once("sandbox")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    booking = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=50)).isoformat(),
        "participant": [
            {"actor": {"reference": "Patient/pat-1"}, "status": "accepted"},
            {"actor": {"reference": CLINICIAN}, "status": "accepted"},
        ],
    }
    store = get_state(sandbox.app).store
    store.create("Appointment", booking)
    assert reconciler.run_once("sandbox").bypasses == 1

    # With an open booking grant, the next booking is accounted for and the grant is spent.
    _verified(codewords, Action.BOOK, None)
    store.create("Appointment", {**booking, "start": (start + timedelta(days=7)).isoformat()})
    assert reconciler.run_once("sandbox").bypasses == 0
    with get_service(Database, quietline.app).session() as session:
        states = [g.state for g in session.scalars(select(CodewordGrant)).all()]
    assert states == ["used"]


def test_unprotected_clients_are_not_watched(
    quietline: Quietline, sandbox: RunningSandbox, setup: tuple[CodewordService, Reconciler]
) -> None:
    reconciler, next_id = _first_pass(setup, "pat-2")
    _ehr_edit(sandbox, next_id, status="cancelled")
    assert reconciler.run_once("sandbox").bypasses == 0


def test_an_ehr_outage_leaves_the_cursor_for_the_next_pass(
    quietline: Quietline, sandbox: RunningSandbox, setup: tuple[CodewordService, Reconciler]
) -> None:
    reconciler, next_id = _first_pass(setup)
    _ehr_edit(sandbox, next_id, status="cancelled")
    sandbox.stop()
    assert reconciler.run_all() == []  # the failing tenant is logged and skipped
    assert _actions(quietline, AuditAction.APPOINTMENT_BYPASS) == []


def test_fingerprint_ignores_workflow_statuses() -> None:
    from fhir.resources.R4B.appointment import Appointment  # noqa: PLC0415

    base = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": "2030-01-01T10:00:00+00:00",
        "end": "2030-01-01T10:50:00+00:00",
        "participant": [{"actor": {"reference": "Patient/p"}, "status": "accepted"}],
    }
    booked = Appointment.model_validate(base)
    arrived = Appointment.model_validate({**base, "status": "arrived"})
    cancelled = Appointment.model_validate({**base, "status": "cancelled"})
    moved = Appointment.model_validate({**base, "start": "2030-01-02T10:00:00+00:00"})
    assert fingerprint(booked) == fingerprint(arrived)
    assert fingerprint(booked) != fingerprint(cancelled)
    assert fingerprint(booked) != fingerprint(moved)


def test_a_change_whose_record_failed_is_completed_by_the_pass_and_is_not_a_bypass(
    monkeypatch: pytest.MonkeyPatch,
    quietline: Quietline,
    sandbox: RunningSandbox,
    setup: tuple[CodewordService, Reconciler],
) -> None:
    """The front desk moves the appointment; the EHR takes it, but queuing the Provenance fails
    once.  The page says the appointment was changed; the next pass completes the record."""
    reconciler, next_id = _first_pass(setup)
    outbox = get_service(Outbox, quietline.app)
    real_enqueue = outbox.enqueue
    faults = [0]

    def enqueue_failing_once(session: Any, **kwargs: Any) -> str:
        if faults[0] == 0 and kwargs["resource"].get_resource_type() == "Provenance":
            faults[0] += 1
            raise RuntimeError("outbox unavailable")
        return real_enqueue(session, **kwargs)

    monkeypatch.setattr(outbox, "enqueue", enqueue_failing_once)
    desk = Person(sandbox, "frontdesk")
    desk.launch()
    granted = desk.verify(WORD, choice=f"reschedule:{next_id}")
    assert granted.status_code == 200

    page = desk.submit(granted.text, "/codeword/change", date="2031-05-06", time="09:30")

    assert faults == [1]
    assert page.status_code == 202
    said = text_of(page.text, "outcome")
    assert said == ChangeRecordPending.description
    assert said.startswith("The appointment was changed in the EHR.")
    assert "nothing was" not in page.text.lower()
    stored = get_state(sandbox.app).store.read("Appointment", next_id)
    assert stored is not None
    assert stored.body["start"].startswith("2031-05-06")
    assert _intent_states(quietline) == ["writing"]
    assert _written(quietline) == []

    report = reconciler.run_once("sandbox")

    assert report.bypasses == 0
    assert _actions(quietline, AuditAction.APPOINTMENT_BYPASS) == []
    assert not any(n.kind == "change-without-verification" for n in _notices(quietline))
    assert _intent_states(quietline) == ["written"]
    (entry,) = _written(quietline)
    assert entry.detail["version"] == stored.body["meta"]["versionId"]
    assert _queued_provenances(quietline) == 1

    # Another pass, and a recovery from the next verification, double nothing.
    assert reconciler.run_once("sandbox").bypasses == 0
    assert desk.verify(WORD, choice=f"reschedule:{next_id}").status_code == 200
    assert len(_written(quietline)) == 1
    assert _queued_provenances(quietline) == 1
    assert _actions(quietline, AuditAction.APPOINTMENT_BYPASS) == []


def _intent_states(quietline: Quietline) -> list[str]:
    with get_service(Database, quietline.app).session() as session:
        return list(session.scalars(select(ChangeIntent.state)).all())


def _written(quietline: Quietline) -> list[AuditEntry]:
    return [
        entry
        for entry in _actions(quietline, AuditAction.APPOINTMENT_CHANGE)
        if entry.detail.get("stage") == "written"
    ]


def _queued_provenances(quietline: Quietline) -> int:
    with get_service(Database, quietline.app).session() as session:
        items = session.scalars(select(OutboxItem)).all()
        return sum(1 for item in items if item.resource_type == "Provenance")
