# SPDX-License-Identifier: Apache-2.0
"""Changing a client's word: the current word is proven first, under the same lockout as a
caller's verification, and a reset waiting for a second approval is kept."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from plugin.codeword.alerts import COMMUNICATION_TEXT
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.interfaces import VerifyOutcome
from plugin.codeword.services import ChangesPaused
from plugin.codeword.services import ClientNotPresent
from plugin.codeword.services import CodewordService
from plugin.codeword.services import CurrentWordWrong
from plugin.codeword.services import NotEnrolled
from plugin.codeword.services import TooManyAttempts
from plugin.codeword.services import WordRefused
from plugin.store import Database
from plugin.vault.models import Notice
from tests.unit.plugin.codeword.support import CLINICIAN
from tests.unit.plugin.codeword.support import FACTS
from tests.unit.plugin.codeword.support import PATIENT
from tests.unit.plugin.codeword.support import SECOND_CLINICIAN
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import WORD
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import enroll
from tests.unit.plugin.codeword.support import outbox_payloads
from tests.unit.plugin.codeword.support import verify
from tests.unit.plugin.codeword.support import wire

NEW_WORD = "Copper kettle at dawn"
RESET_WORD = "Quiet orchard lamp"


def _change(
    service: CodewordService,
    current: str,
    *,
    word: str = NEW_WORD,
    actor: str = CLINICIAN,
    present: bool = True,
) -> None:
    service.change_word(tenant=TENANT, patient_id=PATIENT, current=current, word=word,
                        confirm=word, facts=FACTS, actor=actor, client_present=present)  # fmt: skip


def _notices(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        return [(n.recipient, n.kind) for n in session.scalars(select(Notice))]


def test_the_current_word_changes_the_word(service: CodewordService, cw_db: Database) -> None:
    enroll(service)
    _change(service, " lantern OVER marsh", actor=SECOND_CLINICIAN)

    assert verify(service, WORD).outcome is VerifyOutcome.WRONG
    assert verify(service, NEW_WORD).outcome is VerifyOutcome.GRANTED
    assert service.status(TENANT, PATIENT).treating_clinician == SECOND_CLINICIAN
    [entry] = audit_rows(cw_db, "codeword:word:change")
    assert (entry.actor, entry.detail) == (SECOND_CLINICIAN, {"version": 2})
    [proof] = [e for e in audit_rows(cw_db, "codeword:word:verify") if e.actor == SECOND_CLINICIAN]
    assert (proof.outcome, proof.detail) == ("success", {"action": "change-word",
                                                         "result": "granted"})  # fmt: skip


def test_a_wrong_current_word_counts_like_a_wrong_verification(
    wiring: Wiring, service: CodewordService, cw_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    enroll(service)
    with pytest.raises(CurrentWordWrong) as first:
        _change(service, "lantern over marsk")
    assert first.value.status_code == 400
    assert first.value.description == (
        "The current word does not match, so nothing was changed. 2 tries left before changes "
        "are paused. If the client does not remember it, choose that they forgot the word."
    )
    assert service.status(TENANT, PATIENT).failures == 1
    verify(service, "a caller guessing")
    with pytest.raises(ChangesPaused) as paused:
        _change(service, "lantern over mars")
    assert paused.value.status_code == 423
    with pytest.raises(ChangesPaused):
        _change(service, WORD)  # the right word is refused while changes are paused

    assert service.status(TENANT, PATIENT).locked_until is not None
    service.clear_lockout(tenant=TENANT, patient_id=PATIENT, actor=CLINICIAN)
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED  # never replaced
    assert audit_rows(cw_db, "codeword:word:change") == []
    results = [
        (e.outcome, e.detail) for e in audit_rows(cw_db, "codeword:word:verify")
        if e.detail["action"] == "change-word"
    ]  # fmt: skip
    assert results == [
        ("failure", {"action": "change-word", "result": "wrong"}),
        ("failure", {"action": "change-word", "result": "wrong"}),
        ("denied", {"action": "change-word", "result": "locked"}),
    ]
    assert sorted(_notices(cw_db)) == [
        (CLINICIAN, "verification-failed"),
        (CLINICIAN, "verification-locked"),
        (CLINICIAN, "word-change-failed"),
    ]
    texts = [p["payload"][0]["contentString"] for p in outbox_payloads(cw_db, wiring.outbox_cipher)]
    assert sorted(texts) == sorted(
        COMMUNICATION_TEXT[kind]
        for kind in ("word-change-failed", "verification-failed", "verification-locked")
    )
    for word in (WORD, NEW_WORD, "lantern over marsk"):
        assert word not in caplog.text
        assert not any(word in str(e.detail) for e in audit_rows(cw_db))


def test_a_change_keeps_a_reset_waiting_for_approval(
    wiring: Wiring, service: CodewordService
) -> None:
    wiring.policies.save(TENANT, VerificationPolicy(second_approval=True), actor="Practitioner/a")
    enroll(service)
    assert service.request_reset(tenant=TENANT, patient_id=PATIENT, word=RESET_WORD,
                                 confirm=RESET_WORD, facts=FACTS, actor=CLINICIAN,
                                 client_present=True) is False  # fmt: skip

    _change(service, WORD)

    status = service.status(TENANT, PATIENT)
    assert (status.pending_reset, status.pending_by) == (True, CLINICIAN)
    assert verify(service, NEW_WORD).outcome is VerifyOutcome.GRANTED
    service.approve_reset(tenant=TENANT, patient_id=PATIENT, approver=SECOND_CLINICIAN)
    assert verify(service, RESET_WORD).outcome is VerifyOutcome.GRANTED


def test_change_refusals_count_nothing(service: CodewordService, cw_db: Database) -> None:
    with pytest.raises(NotEnrolled):
        _change(service, WORD)
    enroll(service)
    with pytest.raises(ClientNotPresent):
        _change(service, "not checked", present=False)
    with pytest.raises(WordRefused):
        _change(service, "not checked", word="password1")

    assert service.status(TENANT, PATIENT).failures == 0
    assert audit_rows(cw_db, "codeword:word:verify") == []
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED


def test_change_attempts_are_rate_limited(wiring: Wiring, cw_db: Database) -> None:
    limited = wire(cw_db, wiring.provider, staff_limit=(1, 600)).service
    enroll(limited)
    with pytest.raises(CurrentWordWrong):
        _change(limited, "first guess")
    with pytest.raises(TooManyAttempts) as caught:
        _change(limited, WORD)
    assert caught.value.status_code == 429
    assert verify(limited, WORD, staff="Practitioner/desk-9").outcome is VerifyOutcome.GRANTED
