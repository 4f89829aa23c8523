# SPDX-License-Identifier: Apache-2.0
"""CodewordService: enrollment, resets, verification outcomes, lockout, alerts and audit."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.codeword import rules
from plugin.codeword.alerts import COMMUNICATION_SYSTEM
from plugin.codeword.hashing import WordHasher
from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import AlertRecipient
from plugin.codeword.interfaces import EnrollmentStatus
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.interfaces import VerifyOutcome
from plugin.codeword.models import CodewordRow
from plugin.codeword.services import AlreadyEnrolled
from plugin.codeword.services import AppointmentRequired
from plugin.codeword.services import ClientNotPresent
from plugin.codeword.services import CodewordService
from plugin.codeword.services import NoPendingReset
from plugin.codeword.services import NotEnrolled
from plugin.codeword.services import SameApprover
from plugin.codeword.services import WordRefused
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from plugin.vault.models import Notice
from tests.unit.plugin.codeword.support import CLINICIAN
from tests.unit.plugin.codeword.support import FACTS
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import PATIENT
from tests.unit.plugin.codeword.support import SECOND_CLINICIAN
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import WORD
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import enroll
from tests.unit.plugin.codeword.support import outbox_payloads
from tests.unit.plugin.codeword.support import verify
from tests.unit.plugin.codeword.support import wire

NEW_WORD = "Copper kettle at dawn"


def _row(db: Database, patient: str = PATIENT) -> CodewordRow:
    with db.session() as session:
        rows = list(session.scalars(select(CodewordRow)))
    assert len(rows) == 1, patient
    return rows[0]


def _notices(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        return [(n.recipient, n.kind) for n in session.scalars(select(Notice).order_by(Notice.id))]


def _protocol(wiring: Wiring, **settings: object) -> None:
    wiring.policies.save(TENANT, VerificationPolicy(**settings), actor="Practitioner/admin")  # type: ignore[arg-type]


def _now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.now, UTC)


# --- enrollment -------------------------------------------------------------------------------


def test_enrollment_needs_the_client_present(service: CodewordService, cw_db: Database) -> None:
    with pytest.raises(ClientNotPresent) as caught:
        service.enroll(tenant=TENANT, patient_id=PATIENT, word=WORD, confirm=WORD, facts=FACTS,
                       actor=CLINICIAN, client_present=False)  # fmt: skip
    assert caught.value.status_code == 400
    assert not service.is_protected(TENANT, PATIENT)
    assert audit_rows(cw_db) == []


def test_a_refused_word_is_not_stored(service: CodewordService, cw_db: Database) -> None:
    with pytest.raises(WordRefused) as caught:
        service.enroll(tenant=TENANT, patient_id=PATIENT, word="robin ashdown", confirm="robin",
                       facts=FACTS, actor=CLINICIAN, client_present=True)  # fmt: skip
    assert caught.value.problems == [rules.MISMATCH, rules.NAME]
    assert caught.value.status_code == 400
    assert service.status(TENANT, PATIENT) == EnrollmentStatus(enrolled=False)


def test_enroll_stores_a_digest_and_audits(
    service: CodewordService, cw_db: Database, clock: Clock
) -> None:
    enroll(service)

    status = service.status(TENANT, PATIENT)
    assert status == EnrollmentStatus(enrolled=True, treating_clinician=CLINICIAN,
                                      enrolled_at=_now(clock))  # fmt: skip
    assert service.is_protected(TENANT, PATIENT)
    assert not service.is_protected(TENANT, "pat-2")
    row = _row(cw_db)
    assert row.patient_pseudonym == service.pseudonym(TENANT, PATIENT)
    assert row.params["memory_cost"] == 256
    assert WORD.encode() not in bytes(row.digest)
    [entry] = audit_rows(cw_db, "codeword:word:enroll")
    assert (entry.actor, entry.subject, entry.detail) == (CLINICIAN, row.patient_pseudonym,
                                                          {"version": 1})  # fmt: skip


def test_enroll_refuses_a_second_word(service: CodewordService, cw_db: Database) -> None:
    enroll(service)
    with pytest.raises(AlreadyEnrolled) as caught:
        service.enroll(tenant=TENANT, patient_id=PATIENT, word=NEW_WORD, confirm=NEW_WORD,
                       facts=FACTS, actor=SECOND_CLINICIAN, client_present=True)  # fmt: skip

    assert caught.value.status_code == 409
    assert verify(service, NEW_WORD).outcome is VerifyOutcome.WRONG
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED
    assert service.status(TENANT, PATIENT).treating_clinician == CLINICIAN
    assert audit_rows(cw_db, "codeword:word:change") == []


# --- verification -----------------------------------------------------------------------------


def test_right_word_issues_a_grant(service: CodewordService, cw_db: Database, clock: Clock) -> None:
    enroll(service)
    result = verify(service, "  lantern OVER marsh ")

    assert result.outcome is VerifyOutcome.GRANTED
    assert result.grant is not None
    assert (result.grant.action, result.grant.appointment_id) == (Action.RESCHEDULE, "appt-1")
    assert result.grant.expires_at == _now(clock) + timedelta(minutes=10)
    [entry] = audit_rows(cw_db, "codeword:word:verify")
    assert (entry.actor, entry.outcome, entry.subject) == (
        FRONT_DESK, "success", service.pseudonym(TENANT, PATIENT))  # fmt: skip
    assert entry.detail == {"action": "reschedule", "result": "granted", "grant": result.grant.id}


def test_wrong_word_counts_and_alerts_the_clinician(
    wiring: Wiring, service: CodewordService, cw_db: Database
) -> None:
    enroll(service)
    result = verify(service, "lantern over marsk")

    assert (result.outcome, result.remaining, result.grant) == (VerifyOutcome.WRONG, 2, None)
    assert service.status(TENANT, PATIENT).failures == 1
    assert _notices(cw_db) == [(CLINICIAN, "verification-failed")]
    [communication] = outbox_payloads(cw_db, wiring.outbox_cipher)
    assert communication["resourceType"] == "Communication"
    assert communication["status"] == "completed"
    assert communication["recipient"] == [{"reference": CLINICIAN}]
    assert communication["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert communication["payload"] == [
        {"contentString": "Verification failed for an appointment change request."}
    ]
    assert communication["meta"]["security"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
    ]
    [identifier] = communication["identifier"]
    assert identifier["system"] == COMMUNICATION_SYSTEM
    assert identifier["value"].startswith("urn:uuid:")
    [entry] = audit_rows(cw_db, "codeword:word:verify")
    assert (entry.outcome, entry.detail) == ("failure", {"action": "reschedule", "result": "wrong"})


def test_lockout_at_the_limit_refuses_the_right_word(
    wiring: Wiring, service: CodewordService, cw_db: Database, clock: Clock
) -> None:
    enroll(service)
    results = [verify(service, f"wrong {n}") for n in range(3)]

    assert [(r.outcome, r.remaining) for r in results] == [
        (VerifyOutcome.WRONG, 2), (VerifyOutcome.WRONG, 1), (VerifyOutcome.WRONG, 0)]  # fmt: skip
    until = _now(clock) + timedelta(minutes=60)
    assert results[2].locked_until == until
    locked = verify(service, WORD)
    assert (locked.outcome, locked.locked_until, locked.grant) == (
        VerifyOutcome.LOCKED,
        until,
        None,
    )
    assert service.status(TENANT, PATIENT).locked_until == until
    assert sorted(_notices(cw_db)) == [(CLINICIAN, "verification-failed")] * 2 + [
        (CLINICIAN, "verification-locked")
    ]
    texts = sorted(
        c["payload"][0]["contentString"] for c in outbox_payloads(cw_db, wiring.outbox_cipher)
    )
    assert texts == [
        "Appointment changes are paused after repeated failed verification.",
        "Verification failed for an appointment change request.",
        "Verification failed for an appointment change request.",
    ]
    outcomes = [(e.outcome, e.detail["result"]) for e in audit_rows(cw_db, "codeword:word:verify")]
    assert outcomes == [("failure", "wrong")] * 3 + [("denied", "locked")]


def test_lockout_expiry_starts_the_count_again(service: CodewordService, clock: Clock) -> None:
    enroll(service)
    enrolled_at = _now(clock)
    for n in range(3):
        verify(service, f"wrong {n}")
    clock.advance(59 * 60)
    assert verify(service, WORD).outcome is VerifyOutcome.LOCKED

    clock.advance(61)
    assert service.status(TENANT, PATIENT) == EnrollmentStatus(
        enrolled=True, treating_clinician=CLINICIAN, enrolled_at=enrolled_at)  # fmt: skip
    again = verify(service, "wrong again")
    assert (again.outcome, again.remaining, again.locked_until) == (VerifyOutcome.WRONG, 2, None)
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED
    assert service.status(TENANT, PATIENT).failures == 0


def test_clear_lockout_by_the_clinician(service: CodewordService, cw_db: Database) -> None:
    enroll(service)
    for n in range(3):
        verify(service, f"wrong {n}")
    service.clear_lockout(tenant=TENANT, patient_id=PATIENT, actor=CLINICIAN)

    assert service.status(TENANT, PATIENT).locked_until is None
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED
    [entry] = audit_rows(cw_db, "codeword:lockout:clear")
    assert (entry.actor, entry.detail) == (CLINICIAN, {"was_locked": True})
    with pytest.raises(NotEnrolled):
        service.clear_lockout(tenant=TENANT, patient_id="pat-2", actor=CLINICIAN)


def test_not_enrolled_and_not_required(service: CodewordService, cw_db: Database) -> None:
    assert verify(service, WORD).outcome is VerifyOutcome.NOT_ENROLLED
    enroll(service)
    book = verify(service, WORD, action=Action.BOOK, appointment=None)
    assert (book.outcome, book.grant) == (VerifyOutcome.NOT_REQUIRED, None)
    results = [e.detail["result"] for e in audit_rows(cw_db, "codeword:word:verify")]
    assert results == ["not-enrolled", "not-required"]


def test_actions_on_an_appointment_need_one(service: CodewordService, cw_db: Database) -> None:
    enroll(service)
    with pytest.raises(AppointmentRequired):
        verify(service, WORD, action=Action.CANCEL, appointment=None)
    assert audit_rows(cw_db, "codeword:word:verify") == []


def test_alert_recipients_follow_the_protocol(
    wiring: Wiring, service: CodewordService, cw_db: Database
) -> None:
    _protocol(wiring, alert=frozenset({AlertRecipient.ADMIN}))
    enroll(service)
    verify(service, "wrong")
    assert sorted(_notices(cw_db)) == [
        (CLINICIAN, "verification-failed"),
        ("role:admin", "verification-failed"),
    ]
    assert len(outbox_payloads(cw_db, wiring.outbox_cipher)) == 1

    _protocol(wiring, alert=frozenset())  # the treating clinician is always alerted
    verify(service, "wrong again")
    assert len(_notices(cw_db)) == 3
    assert len(outbox_payloads(cw_db, wiring.outbox_cipher)) == 2


def test_a_clinician_who_is_not_a_practitioner_gets_no_ehr_message(
    service: CodewordService, wiring: Wiring, cw_db: Database
) -> None:
    service.enroll(tenant=TENANT, patient_id=PATIENT, word=WORD, confirm=WORD, facts=FACTS,
                   actor="PractitionerRole/role-1", client_present=True)  # fmt: skip
    verify(service, "wrong")
    assert _notices(cw_db) == [("PractitionerRole/role-1", "verification-failed")]
    assert outbox_payloads(cw_db, wiring.outbox_cipher) == []


def test_weaker_stored_parameters_are_upgraded_after_a_right_word(
    cw_db: Database, keys: LocalKeyProvider, clock: Clock
) -> None:
    old = wire(cw_db, keys, clock=clock, hasher=WordHasher(keys, time_cost=1, memory_cost=128,
                                                           parallelism=1))  # fmt: skip
    enroll(old.service)
    new = wire(cw_db, keys, clock=clock)
    assert verify(new.service, "wrong").outcome is VerifyOutcome.WRONG
    assert _row(cw_db).params["memory_cost"] == 128
    assert verify(new.service, WORD).outcome is VerifyOutcome.GRANTED
    row = _row(cw_db)
    assert (row.params["memory_cost"], row.version) == (256, 1)
    assert verify(new.service, WORD).outcome is VerifyOutcome.GRANTED


# --- resets -----------------------------------------------------------------------------------


def _reset(service: CodewordService, actor: str = CLINICIAN, patient: str = PATIENT) -> bool:
    return service.request_reset(tenant=TENANT, patient_id=patient, word=NEW_WORD,
                                 confirm=NEW_WORD, facts=FACTS, actor=actor,
                                 client_present=True)  # fmt: skip


def test_reset_without_second_approval_is_immediate(
    service: CodewordService, cw_db: Database
) -> None:
    enroll(service)
    for n in range(3):
        verify(service, f"wrong {n}")
    assert _reset(service, actor=SECOND_CLINICIAN) is True

    assert service.status(TENANT, PATIENT).locked_until is None
    assert verify(service, WORD).outcome is VerifyOutcome.WRONG
    assert verify(service, NEW_WORD).outcome is VerifyOutcome.GRANTED
    assert service.status(TENANT, PATIENT).treating_clinician == CLINICIAN
    [entry] = audit_rows(cw_db, "codeword:word:reset")
    assert (entry.actor, entry.detail) == (SECOND_CLINICIAN, {"pending": False, "version": 2})


def test_reset_with_second_approval(
    wiring: Wiring, service: CodewordService, cw_db: Database
) -> None:
    _protocol(wiring, second_approval=True)
    enroll(service)
    assert _reset(service) is False
    status = service.status(TENANT, PATIENT)
    assert (status.pending_reset, status.pending_by) == (True, CLINICIAN)
    assert verify(service, NEW_WORD).outcome is VerifyOutcome.WRONG
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED

    with pytest.raises(SameApprover) as caught:
        service.approve_reset(tenant=TENANT, patient_id=PATIENT, approver=CLINICIAN)
    assert caught.value.status_code == 403
    service.approve_reset(tenant=TENANT, patient_id=PATIENT, approver=SECOND_CLINICIAN)

    status = service.status(TENANT, PATIENT)
    assert (status.pending_reset, status.pending_by) == (False, None)
    assert verify(service, WORD).outcome is VerifyOutcome.WRONG
    assert verify(service, NEW_WORD).outcome is VerifyOutcome.GRANTED
    with pytest.raises(NoPendingReset):
        service.approve_reset(tenant=TENANT, patient_id=PATIENT, approver=SECOND_CLINICIAN)
    [reset] = audit_rows(cw_db, "codeword:word:reset")
    [approve] = audit_rows(cw_db, "codeword:word:approve")
    assert reset.detail == {"pending": True, "version": 1}
    assert (approve.actor, approve.detail) == (SECOND_CLINICIAN, {"version": 2})


def test_reset_refusals(service: CodewordService) -> None:
    with pytest.raises(NotEnrolled):
        _reset(service)
    with pytest.raises(NotEnrolled):
        service.approve_reset(tenant=TENANT, patient_id=PATIENT, approver=CLINICIAN)
    enroll(service)
    with pytest.raises(ClientNotPresent):
        service.request_reset(tenant=TENANT, patient_id=PATIENT, word=NEW_WORD, confirm=NEW_WORD,
                              facts=FACTS, actor=CLINICIAN, client_present=False)  # fmt: skip
    with pytest.raises(WordRefused):
        service.request_reset(tenant=TENANT, patient_id=PATIENT, word="password1",
                              confirm="password1", facts=FACTS, actor=CLINICIAN,
                              client_present=True)  # fmt: skip
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED
