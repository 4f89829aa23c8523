# SPDX-License-Identifier: Apache-2.0
"""Grants: single use, bound to client, staff member, action and appointment, short-lived."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import Grant
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.models import CodewordGrant
from plugin.codeword.services import CodewordService
from plugin.codeword.services import GrantExpired
from plugin.codeword.services import GrantInvalid
from plugin.codeword.services import GrantOtherClient
from plugin.codeword.services import GrantRefused
from plugin.codeword.services import GrantUsed
from plugin.store import Database
from tests.unit.plugin.codeword.support import APPOINTMENT
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import OTHER_TENANT
from tests.unit.plugin.codeword.support import PATIENT
from tests.unit.plugin.codeword.support import SECOND_DESK
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import WORD
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import enroll
from tests.unit.plugin.codeword.support import verify


def _grant(service: CodewordService, action: Action = Action.RESCHEDULE,
           appointment: str | None = APPOINTMENT) -> Grant:  # fmt: skip
    result = verify(service, WORD, action=action, appointment=appointment)
    assert result.grant is not None
    return result.grant


def _claim(service: CodewordService, grant: Grant, **overrides: Any) -> Grant:
    arguments: dict[str, Any] = {"tenant": TENANT, "token": grant.token, "staff": FRONT_DESK,
                                 "action": grant.action, "appointment_id": grant.appointment_id,
                                 "patient_id": PATIENT}  # fmt: skip
    arguments.update(overrides)
    claimed: Grant = service.claim(**arguments)
    return claimed


def _row(db: Database, grant_id: str) -> CodewordGrant:
    with db.session() as session:
        row = session.get(CodewordGrant, grant_id)
        assert row is not None
        return row


@pytest.fixture
def enrolled(service: CodewordService) -> CodewordService:
    enroll(service)
    return service


def test_only_the_token_hash_and_appointment_key_are_stored(
    enrolled: CodewordService, cw_db: Database
) -> None:
    grant = _grant(enrolled)
    row = _row(cw_db, grant.id)
    assert row.token_hash == hashlib.sha256(grant.token.encode()).hexdigest()
    assert row.appointment_key == enrolled.appointment_key(TENANT, APPOINTMENT)
    assert row.appointment_key != enrolled.pseudonym(TENANT, APPOINTMENT)
    assert (row.state, row.issued_to, row.action) == ("issued", FRONT_DESK, "reschedule")
    assert len(grant.token) >= 43


def test_claim_complete_is_single_use(enrolled: CodewordService, cw_db: Database) -> None:
    grant = _grant(enrolled)
    claimed = _claim(enrolled, grant)
    assert (claimed.id, claimed.action, claimed.appointment_id) == (grant.id, Action.RESCHEDULE,
                                                                    APPOINTMENT)  # fmt: skip
    assert _row(cw_db, grant.id).state == "claimed"
    with pytest.raises(GrantUsed):
        _claim(enrolled, grant)

    enrolled.complete(tenant=TENANT, grant_id=grant.id, result_version="7")
    row = _row(cw_db, grant.id)
    assert (row.state, row.result_version) == ("used", "7")
    assert row.used_at is not None
    assert [g.id for g in enrolled.used_grants(TENANT, APPOINTMENT)] == [grant.id]
    assert enrolled.used_grants(TENANT, "appt-2") == []
    with pytest.raises(GrantUsed) as caught:
        _claim(enrolled, grant)
    assert caught.value.status_code == 409
    assert "already used" in caught.value.description
    with pytest.raises(GrantInvalid):
        enrolled.complete(tenant=TENANT, grant_id=grant.id, result_version="8")


def test_release_gives_the_grant_back(enrolled: CodewordService, cw_db: Database) -> None:
    grant = _grant(enrolled)
    _claim(enrolled, grant)
    enrolled.release(tenant=TENANT, grant_id=grant.id)
    assert _row(cw_db, grant.id).state == "issued"
    enrolled.release(tenant=TENANT, grant_id=grant.id)  # not claimed: nothing happens
    assert _claim(enrolled, grant).id == grant.id


def test_grant_expires(wiring: Wiring, enrolled: CodewordService, clock: Clock) -> None:
    wiring.policies.save(TENANT, VerificationPolicy(grant_minutes=2), actor="Practitioner/a")
    grant = _grant(enrolled)
    clock.advance(119)
    _claim(enrolled, grant)
    enrolled.release(tenant=TENANT, grant_id=grant.id)
    clock.advance(1)
    with pytest.raises(GrantExpired) as caught:
        _claim(enrolled, grant)
    assert caught.value.description == "This verification has expired. Verify the caller again."


@pytest.mark.parametrize(
    "override",
    [
        {"staff": SECOND_DESK},
        {"action": Action.CANCEL},
        {"appointment_id": "appt-2"},
        {"appointment_id": None},
        {"tenant": OTHER_TENANT},
        {"token": "not-a-token"},
    ],
)
def test_grant_covers_one_change_only(
    enrolled: CodewordService, cw_db: Database, override: dict[str, object]
) -> None:
    grant = _grant(enrolled)
    with pytest.raises(GrantInvalid) as caught:
        _claim(enrolled, grant, **override)
    assert isinstance(caught.value, GrantRefused)
    assert caught.value.description == (
        "This verification does not cover this change. Verify the caller again."
    )
    assert _row(cw_db, grant.id).state == "issued"
    assert _claim(enrolled, grant).id == grant.id


@pytest.mark.parametrize("action", [Action.RESCHEDULE, Action.BOOK])
def test_a_grant_is_refused_for_another_client(
    wiring: Wiring, enrolled: CodewordService, cw_db: Database, action: Action
) -> None:
    wiring.policies.save(TENANT, VerificationPolicy(actions=frozenset(Action)),
                          actor="Practitioner/a")  # fmt: skip
    enroll(enrolled, patient="pat-2")
    grant = _grant(enrolled, action, APPOINTMENT if action.on_appointment else None)

    for other in ("pat-2", "pat-unknown"):
        with pytest.raises(GrantOtherClient) as caught:
            _claim(enrolled, grant, patient_id=other)
        assert isinstance(caught.value, GrantInvalid)
        assert caught.value.status_code == 409
        assert caught.value.description == (
            "This verification was for another client. Nothing was changed."
        )
    assert _row(cw_db, grant.id).state == "issued"
    assert _row(cw_db, grant.id).patient_pseudonym == enrolled.pseudonym(TENANT, PATIENT)
    assert _claim(enrolled, grant).id == grant.id


def test_the_client_is_checked_before_staff_action_and_appointment(
    enrolled: CodewordService,
) -> None:
    grant = _grant(enrolled)
    with pytest.raises(GrantOtherClient):
        _claim(enrolled, grant, patient_id="pat-2", staff=SECOND_DESK, action=Action.CANCEL,
               appointment_id="appt-2")  # fmt: skip
    with pytest.raises(GrantInvalid) as caught:
        _claim(enrolled, grant, patient_id="pat-2", tenant=OTHER_TENANT)
    assert not isinstance(caught.value, GrantOtherClient)


def test_book_grants_without_an_appointment(wiring: Wiring, enrolled: CodewordService) -> None:
    wiring.policies.save(TENANT, VerificationPolicy(actions=frozenset({Action.BOOK})),
                          actor="Practitioner/a")  # fmt: skip
    grant = _grant(enrolled, Action.BOOK, None)
    assert [g.id for g in enrolled.open_book_grants(TENANT, PATIENT)] == [grant.id]
    assert enrolled.open_book_grants(TENANT, "pat-2") == []
    with pytest.raises(GrantInvalid):
        _claim(enrolled, grant, appointment_id=APPOINTMENT)
    _claim(enrolled, grant)
    assert enrolled.open_book_grants(TENANT, PATIENT) == []


def test_racing_claims_have_one_winner(enrolled: CodewordService, cw_db: Database) -> None:
    grant = _grant(enrolled)
    start = threading.Barrier(8)
    won: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait(timeout=10)
            won.append(_claim(enrolled, grant).id)
        except GrantUsed as exc:
            refused.append(exc.error)
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert won == [grant.id]
    assert refused == ["grant_used"] * 7
    assert _row(cw_db, grant.id).state == "claimed"
