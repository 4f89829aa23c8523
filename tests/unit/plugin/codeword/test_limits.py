# SPDX-License-Identifier: Apache-2.0
"""Rate limits per staff member and per client, sliding windows and pruning of old attempts."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from plugin.codeword.interfaces import VerifyOutcome
from plugin.codeword.interfaces import VerifyResult
from plugin.codeword.limits import RateLimits
from plugin.codeword.models import CodewordAttempt
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import SECOND_DESK
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import WORD
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import enroll
from tests.unit.plugin.codeword.support import verify
from tests.unit.plugin.codeword.support import wire

LIMITED = VerifyResult(VerifyOutcome.RATE_LIMITED)


@pytest.fixture
def limited(cw_db: Database, keys: LocalKeyProvider, clock: Clock) -> Wiring:
    """Three attempts per staff member per 10 minutes, five per client per hour."""
    return wire(cw_db, keys, clock=clock, staff_limit=(3, 600), client_limit=(5, 3600))


def _attempts(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(CodewordAttempt)) or 0)


def test_staff_limit_slides(limited: Wiring, clock: Clock) -> None:
    service = limited.service
    enroll(service)
    outcomes = [verify(service, f"wrong {n}").outcome for n in range(2)]
    outcomes.append(verify(service, WORD, patient="pat-2").outcome)
    assert outcomes == [VerifyOutcome.WRONG, VerifyOutcome.WRONG, VerifyOutcome.NOT_ENROLLED]

    assert verify(service, WORD) == LIMITED
    assert service.status(TENANT, "pat-1").failures == 2  # a refused attempt counts nothing
    assert verify(service, WORD, staff=SECOND_DESK).outcome is VerifyOutcome.GRANTED

    clock.advance(599)
    assert verify(service, WORD) == LIMITED  # the window still holds the first attempt
    clock.advance(1)
    assert verify(service, WORD).outcome is VerifyOutcome.GRANTED


def test_client_limit_across_staff(limited: Wiring, clock: Clock) -> None:
    service = limited.service
    enroll(service)
    staff = [f"Practitioner/desk-{n}" for n in range(6)]
    outcomes = [verify(service, WORD, staff=member).outcome for member in staff]
    assert outcomes == [VerifyOutcome.GRANTED] * 5 + [VerifyOutcome.RATE_LIMITED]
    clock.advance(3601)
    assert verify(service, WORD, staff=staff[5]).outcome is VerifyOutcome.GRANTED


def test_rate_limited_answer_does_not_reveal_enrollment(limited: Wiring, cw_db: Database) -> None:
    service = limited.service
    enroll(service, patient="pat-1")
    answers = {}
    for patient in ("pat-1", "pat-2"):  # enrolled, not enrolled
        for n in range(5):
            verify(service, f"guess {n}", staff=f"Practitioner/desk-{n}", patient=patient)
        answers[patient] = verify(service, "guess", staff=FRONT_DESK, patient=patient)
    assert answers["pat-1"] == answers["pat-2"] == LIMITED

    limited_entries = [e for e in audit_rows(cw_db, "codeword:word:verify")
                       if e.detail["result"] == "rate-limited"]  # fmt: skip
    assert [(e.outcome, e.detail) for e in limited_entries] == [
        ("denied", {"action": "reschedule", "result": "rate-limited"})] * 2  # fmt: skip


def test_old_attempts_are_pruned_now_and_then(
    limited: Wiring, cw_db: Database, clock: Clock
) -> None:
    now = datetime.fromtimestamp(clock.now, UTC)

    def add(at: datetime) -> None:
        with cw_db.session() as session:
            session.add(CodewordAttempt(tenant_id=TENANT, staff=FRONT_DESK, patient_pseudonym="x",
                                        at=at, outcome="wrong"))  # fmt: skip

    add(now - timedelta(seconds=3601))  # older than the longest window
    add(now - timedelta(seconds=3500))
    verify(limited.service, WORD, staff=SECOND_DESK)
    assert _attempts(cw_db) == 2  # the recent one and the attempt just made

    add(now - timedelta(days=1))
    clock.advance(60)
    verify(limited.service, WORD, staff=SECOND_DESK)
    assert _attempts(cw_db) == 4  # not due again yet

    clock.advance(600)
    verify(limited.service, WORD, staff=SECOND_DESK)
    assert _attempts(cw_db) == 3  # the day-old and the 3500 s one (now 4160 s old) are gone


def test_limits_must_be_positive(cw_db: Database) -> None:
    with pytest.raises(ValueError, match="at least one"):
        RateLimits(cw_db, (0, 600), (5, 60))
