# SPDX-License-Identifier: Apache-2.0
"""The clinician's enrollment page over real HTTP: set, change and reset the word with the
client present, approve a reset, clear a pause; the client's name and birth date come live from
the sandbox EHR (``pat-1``: Avery Lindqvist, born 1988-04-12)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.models import AppointmentWatch
from plugin.codeword.models import CodewordRow
from plugin.registry import get_service
from plugin.store import Database
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import csrf
from tests.support.servers import Quietline
from tests.unit.plugin.codeword.ui_support import WORD
from tests.unit.plugin.codeword.ui_support import Person
from tests.unit.plugin.codeword.ui_support import audit_actions
from tests.unit.plugin.codeword.ui_support import codewords
from tests.unit.plugin.codeword.ui_support import has_id
from tests.unit.plugin.codeword.ui_support import text_of

NEW_WORD = "violet kettle meadow"


@pytest.fixture
def therapist(sandbox: RunningSandbox) -> Person:
    person = Person(sandbox, "therapist")
    person.launch()
    return person


def _rows(quietline: Quietline) -> list[CodewordRow]:
    with get_service(Database, quietline.app).session() as session:
        return list(session.scalars(select(CodewordRow)))


def test_front_desk_and_admin_get_403_whatever_the_enrollment(
    quietline: Quietline, sandbox: RunningSandbox, therapist: Person
) -> None:
    desk, admin = Person(sandbox, "frontdesk"), Person(sandbox, "admin")
    desk.launch()
    admin.launch()

    def answers() -> list[tuple[int, str]]:
        return [
            (r.status_code, r.text)
            for person in (desk, admin)
            for r in (
                person.get("/codeword/enroll"),
                person.post(
                    "/codeword/enroll",
                    {"csrf": person.form_token(), "word": WORD, "confirm": WORD},
                ),
                person.post("/codeword/unlock", {"csrf": person.form_token(), "present": "yes"}),
            )
        ]

    before = answers()
    assert therapist.enroll().status_code == 200
    assert before == answers()
    assert {status for status, _ in before} == {403}


def test_the_page_shows_status_rules_and_masked_fields(therapist: Person) -> None:
    page = therapist.get("/codeword/enroll").text

    assert text_of(page, "status") == "No verification word is set up for this client yet."
    assert "At least 8 characters." in text_of(page, "rules")
    assert "Not the client's name or birth date." in text_of(page, "rules")
    assert "The client types the word; it is never shown again" in page
    for field in ("word", "confirm"):
        tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', page)
        assert tag is not None
        assert 'type="password"' in tag.group(0)
        assert 'autocomplete="off"' in tag.group(0)
        assert f'<label for="{field}">' in page
    assert '<label class="inline" for="present">The client is here with me in person</label>' in (
        page
    )
    assert "<script" not in page


def test_the_client_must_be_present(quietline: Quietline, therapist: Person) -> None:
    page = therapist.get("/codeword/enroll")
    answer = therapist.post(
        "/codeword/enroll", {"csrf": csrf(page.text), "word": WORD, "confirm": WORD}
    )

    assert answer.status_code == 400
    assert "Confirm that the client is here with you" in text_of(answer.text, "word-error")
    assert _rows(quietline) == []


@pytest.mark.parametrize(
    ("word", "confirm", "expected"),
    [
        ("Lindqvist forever", "Lindqvist forever", "name"),
        ("avery avery avery", "avery avery avery", "name"),
        ("born 12/04/1988!", "born 12/04/1988!", "birth"),
        ("copper lantern harbour", "copper lantern harbor", "match"),
        ("qz7wk", "qz7wk", "8"),
    ],
)
def test_refused_words_are_explained_and_nothing_is_stored(
    quietline: Quietline, therapist: Person, word: str, confirm: str, expected: str
) -> None:
    answer = therapist.enroll(word, confirm=confirm)

    assert answer.status_code == 400
    problems = text_of(answer.text, "word-problems")
    assert expected in problems.lower()
    assert word not in answer.text
    assert _rows(quietline) == []


def test_enrolling_sets_the_word_and_never_shows_it(
    quietline: Quietline, therapist: Person
) -> None:
    answer = therapist.enroll()

    assert answer.status_code == 200
    assert answer.url.endswith("/codeword/enroll?done=enrolled")
    assert text_of(answer.text, "word-done") == (
        "The verification word is set up. It is never shown again."
    )
    assert text_of(answer.text, "status").startswith("A verification word is set up")
    assert WORD not in answer.text
    (row,) = _rows(quietline)
    assert row.treating_clinician == "Practitioner/therapist"
    assert ("codeword:word:enroll", "success") in audit_actions(quietline)
    assert codewords(quietline).is_protected("sandbox", "pat-1")


def test_first_enrollment_takes_a_baseline_of_the_appointments(
    quietline: Quietline, therapist: Person
) -> None:
    therapist.enroll()

    with get_service(Database, quietline.app).session() as session:
        watched = session.scalars(select(AppointmentWatch)).all()
    assert len(watched) == 3  # past, next and later appointment of pat-1
    assert {w.patient_pseudonym for w in watched} == {
        codewords(quietline).pseudonym("sandbox", "pat-1")
    }


def test_changing_the_word_replaces_it(quietline: Quietline, therapist: Person) -> None:
    therapist.enroll()
    answer = therapist.enroll(NEW_WORD, reason="change", current=WORD)

    assert answer.url.endswith("?done=changed")
    assert ("codeword:word:change", "success") in audit_actions(quietline)
    service = codewords(quietline)
    check = {"tenant": "sandbox", "patient_id": "pat-1", "action": "reschedule"}
    old = service.verify(**check, word=WORD, appointment_id="appt-1-next", staff="Practitioner/x")
    new = service.verify(
        **check, word=NEW_WORD, appointment_id="appt-1-next", staff="Practitioner/x"
    )
    assert (old.outcome, new.outcome) == ("wrong", "granted")


def test_the_change_form_asks_for_the_current_word_masked(therapist: Person) -> None:
    therapist.enroll()
    page = therapist.get("/codeword/enroll").text

    tag = re.search(r'<input[^>]*\bid="current"[^>]*>', page)
    assert tag is not None
    assert 'type="password"' in tag.group(0)
    assert 'autocomplete="off"' in tag.group(0)
    assert 'name="current"' in tag.group(0)
    assert '<label for="current">The current word</label>' in page


def test_a_change_without_the_right_current_word_changes_nothing(
    quietline: Quietline, therapist: Person, caplog: pytest.LogCaptureFixture
) -> None:
    therapist.enroll()
    missing = therapist.enroll(NEW_WORD, reason="change")
    wrong = therapist.enroll(NEW_WORD, reason="change", current="copper lantern harbor")

    assert missing.status_code == 400
    assert text_of(missing.text, "word-error") == (
        "Type the client's current word, or choose that the client forgot it."
    )
    assert wrong.status_code == 400
    assert text_of(wrong.text, "word-error").startswith(
        "The current word does not match, so nothing was changed. 2 tries left"
    )
    assert NEW_WORD not in wrong.text
    assert "copper lantern harbor" not in wrong.text
    assert "copper lantern harbor" not in caplog.text
    service = codewords(quietline)
    assert service.status("sandbox", "pat-1").failures == 1
    assert ("codeword:word:verify", "failure") in audit_actions(quietline)
    assert ("codeword:word:change", "success") not in audit_actions(quietline)
    check = {"tenant": "sandbox", "patient_id": "pat-1", "action": "reschedule",
             "appointment_id": "appt-1-next", "staff": "Practitioner/x"}  # fmt: skip
    assert service.verify(**check, word=WORD).outcome == "granted"


def test_a_change_cannot_skip_the_second_approval_of_a_reset(
    quietline: Quietline, sandbox: RunningSandbox, therapist: Person
) -> None:
    therapist.enroll()
    codewords(quietline).policies.save(
        "sandbox", VerificationPolicy(second_approval=True), actor="Practitioner/admin"
    )
    assert therapist.enroll(NEW_WORD, reason="forgotten").url.endswith("?done=pending")

    skipped = therapist.enroll("amber rowing compass", reason="change")

    assert skipped.status_code == 400
    service = codewords(quietline)
    status = service.status("sandbox", "pat-1")
    assert (status.pending_reset, status.pending_by) == (True, "Practitioner/therapist")
    assert has_id(skipped.text, "pending")
    check = {"tenant": "sandbox", "patient_id": "pat-1", "action": "reschedule",
             "appointment_id": "appt-1-next", "staff": "Practitioner/x"}  # fmt: skip
    assert service.verify(**check, word="amber rowing compass").outcome == "wrong"
    assert service.verify(**check, word=WORD).outcome == "granted"

    admin = Person(sandbox, "admin")
    admin.launch()
    page = admin.get("/codeword/approve")
    assert admin.post("/codeword/approve", {"csrf": csrf(page.text)}).url.endswith("?done=approved")
    assert service.verify(**check, word=NEW_WORD).outcome == "granted"


def test_a_reset_waits_for_a_second_staff_member(
    quietline: Quietline, sandbox: RunningSandbox, therapist: Person
) -> None:
    therapist.enroll()
    codewords(quietline).policies.save(
        "sandbox", VerificationPolicy(second_approval=True), actor="Practitioner/admin"
    )

    pending = therapist.enroll(NEW_WORD, reason="forgotten")
    assert pending.url.endswith("?done=pending")
    assert has_id(pending.text, "pending")
    assert "Approve the new word" not in pending.text  # not by the one who asked

    own = therapist.post("/codeword/approve", {"csrf": csrf(pending.text)})
    assert own.status_code == 403
    assert text_of(own.text, "approve-error") == "A different staff member must approve this reset."

    admin = Person(sandbox, "admin")
    home = admin.launch()
    assert has_id(home.text, "approval-waiting")
    page = admin.get("/codeword/approve")
    assert "Approve the new word" in page.text
    approved = admin.post("/codeword/approve", {"csrf": csrf(page.text)})
    assert approved.url.endswith("/codeword/approve?done=approved")
    assert ("codeword:word:approve", "success") in audit_actions(quietline)
    assert not has_id(admin.launch().text, "approval-waiting")


def test_the_front_desk_cannot_approve_a_reset(sandbox: RunningSandbox) -> None:
    desk = Person(sandbox, "frontdesk")
    desk.launch()

    assert desk.get("/codeword/approve").status_code == 403
    assert desk.post("/codeword/approve", {"csrf": desk.form_token()}).status_code == 403


def test_a_pause_is_cleared_in_person(quietline: Quietline, therapist: Person) -> None:
    therapist.enroll()
    service = codewords(quietline)
    for n in range(3):
        service.verify(tenant="sandbox", patient_id="pat-1", word=f"wrong {n}",
                       action="reschedule", appointment_id="appt-1-next",
                       staff="Practitioner/frontdesk")  # fmt: skip

    page = therapist.get("/codeword/enroll")
    assert "paused until" in text_of(page.text, "paused")
    refused = therapist.post("/codeword/unlock", {"csrf": csrf(page.text)})
    assert refused.status_code == 400
    assert has_id(refused.text, "paused")

    cleared = therapist.post("/codeword/unlock", {"csrf": csrf(page.text), "present": "yes"})
    assert cleared.url.endswith("?done=unlocked")
    assert not has_id(cleared.text, "paused")
    assert service.status("sandbox", "pat-1").locked_until is None
    assert ("codeword:lockout:clear", "success") in audit_actions(quietline)


def test_ehr_outage_refuses_enrollment_with_a_clear_message(
    quietline: Quietline, sandbox: RunningSandbox, therapist: Person
) -> None:
    page = therapist.get("/codeword/enroll")
    sandbox.faults.fhir_down = True
    try:
        answer = therapist.post(
            "/codeword/enroll",
            {"csrf": csrf(page.text), "word": WORD, "confirm": WORD, "present": "yes"},
        )
    finally:
        sandbox.faults.fhir_down = False

    assert answer.status_code == 503
    assert "could not be read from the EHR" in text_of(answer.text, "word-error")
    assert _rows(quietline) == []
