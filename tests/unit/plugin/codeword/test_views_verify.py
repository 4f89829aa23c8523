# SPDX-License-Identifier: Apache-2.0
"""The front desk's verification page over real HTTP, with the sandbox EHR behind Quietline.

The therapist enrolls ``pat-1``'s word in their own browser; the front desk launches from the
same chart in another and types what a caller says.
"""

from __future__ import annotations

import re

import pytest

from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import VerificationPolicy
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import csrf
from tests.support.forms import hidden_fields
from tests.support.servers import Quietline
from tests.unit.plugin.codeword.ui_support import LATER
from tests.unit.plugin.codeword.ui_support import NEXT
from tests.unit.plugin.codeword.ui_support import WORD
from tests.unit.plugin.codeword.ui_support import Person
from tests.unit.plugin.codeword.ui_support import appointment
from tests.unit.plugin.codeword.ui_support import appointment_puts
from tests.unit.plugin.codeword.ui_support import audit_actions
from tests.unit.plugin.codeword.ui_support import codewords
from tests.unit.plugin.codeword.ui_support import has_id
from tests.unit.plugin.codeword.ui_support import text_of

BANNED = ("stalk", "abuse", "violen", "victim", "harass", "danger", "safety", "threat")


@pytest.fixture
def therapist(sandbox: RunningSandbox) -> Person:
    person = Person(sandbox, "therapist")
    person.launch()
    return person


@pytest.fixture
def desk(sandbox: RunningSandbox) -> Person:
    person = Person(sandbox, "frontdesk")
    person.launch()
    return person


@pytest.fixture
def enrolled(therapist: Person) -> Person:
    assert therapist.enroll().status_code == 200
    return therapist


def _verify_attempts(quietline: Quietline) -> list[tuple[str, str]]:
    return [e for e in audit_actions(quietline) if e[0] == "codeword:word:verify"]


def test_pages_are_403_for_the_unentitled_whatever_the_enrollment(
    quietline: Quietline, sandbox: RunningSandbox, therapist: Person
) -> None:
    admin = Person(sandbox, "admin")
    admin.launch()

    def answers() -> list[tuple[int, str]]:
        found = []
        for person in (therapist, admin):
            page = person.get("/codeword/")
            token = person.form_token()
            posted = person.post(
                "/codeword/verify", {"csrf": token, "choice": f"reschedule:{NEXT}", "word": "x"}
            )
            changed = person.post(
                "/codeword/change", {"csrf": token, "token": "t", "action": "cancel"}
            )
            found += [(r.status_code, r.text) for r in (page, posted, changed)]
        return found

    before = answers()
    assert therapist.enroll().status_code == 200
    after = answers()

    assert {status for status, _ in before} == {403}
    assert before == after
    assert _verify_attempts(quietline) == []


def test_not_enrolled_is_said_plainly_to_the_front_desk(desk: Person) -> None:
    page = desk.get("/codeword/")

    assert page.status_code == 200
    assert text_of(page.text, "not-enrolled") == "No verification word is set up for this client."
    assert 'name="word"' not in page.text


def test_the_form_lists_upcoming_appointments_with_move_and_cancel(
    enrolled: Person, desk: Person
) -> None:
    page = desk.get("/codeword/").text

    for appointment_id in (NEXT, LATER):
        assert f'value="reschedule:{appointment_id}"' in page
        assert f'value="cancel:{appointment_id}"' in page
    assert "appt-1-past" not in page
    assert 'value="book"' in page
    word = re.search(r"<input[^>]*\bid=\"word\"[^>]*>", page)
    assert word is not None
    assert 'type="password"' in word.group(0)
    assert 'autocomplete="off"' in word.group(0)
    assert '<label for="word">What the caller says</label>' in page
    assert "<script" not in page


def test_wrong_words_count_down_then_pause_changes(
    quietline: Quietline, enrolled: Person, desk: Person, sandbox: RunningSandbox
) -> None:
    first = desk.verify("not the word")
    second = desk.verify("still not it")
    third = desk.verify("nor this")
    right = desk.verify(WORD)

    assert first.status_code == 400
    assert text_of(first.text, "outcome") == (
        "That does not match. 2 tries left before changes are paused."
    )
    assert text_of(second.text, "outcome") == (
        "That does not match. 1 try left before changes are paused."
    )
    assert third.status_code == 423
    paused = text_of(third.text, "outcome")
    assert re.fullmatch(
        r"Changes for this client are paused until \d\d:\d\d UTC\. Do not make the change;"
        r" the treating clinician has been told\.",
        paused,
    )
    assert right.status_code == 423
    assert text_of(right.text, "outcome") == paused
    assert 'name="token"' not in right.text
    assert has_id(desk.get("/codeword/").text, "paused")
    for page in (first, second, third, right):
        assert WORD not in page.text
        assert not any(word in page.text.lower() for word in BANNED)
    assert [outcome for _, outcome in _verify_attempts(quietline)] == [
        "failure",
        "failure",
        "failure",
        "denied",
    ]
    assert appointment_puts(sandbox) == []


def test_right_word_offers_the_change_and_moves_the_appointment(
    quietline: Quietline, enrolled: Person, desk: Person, sandbox: RunningSandbox
) -> None:
    before = appointment(sandbox)
    granted = desk.verify(WORD)

    assert granted.status_code == 200
    assert has_id(granted.text, "verified")
    fields = hidden_fields(granted.text)
    assert fields["action"] == "reschedule"
    assert fields["appointment"] == NEXT
    assert len(fields["token"]) >= 40
    assert "?" not in granted.url

    moved = desk.submit(granted.text, "/codeword/change", date="2031-05-06", time="09:30")

    assert moved.status_code == 200
    assert moved.url.endswith("/codeword/?done=reschedule")
    assert fields["token"] not in moved.url
    assert text_of(moved.text, "change-done").startswith("The appointment was moved.")
    after = appointment(sandbox)
    assert after["start"].startswith("2031-05-06T09:30:00")
    assert after["end"].startswith("2031-05-06T10:20:00")  # the 50 minutes are kept
    assert after["meta"]["versionId"] != before["meta"]["versionId"]
    assert "2031" not in before["start"]
    assert ("codeword:appointment:write", "success") in audit_actions(quietline)


def test_cancel_needs_a_reason_then_sets_cancelation_reason(
    enrolled: Person, desk: Person, sandbox: RunningSandbox
) -> None:
    granted = desk.verify(WORD, choice=f"cancel:{LATER}")
    assert '<label for="reason">Reason for cancelling</label>' in granted.text

    missing = desk.submit(granted.text, "/codeword/change", reason="")
    assert missing.status_code == 400
    assert text_of(missing.text, "change-error") == "Choose why the appointment is cancelled."
    assert appointment_puts(sandbox) == []

    done = desk.submit(missing.text, "/codeword/change", reason="pat")
    assert done.url.endswith("/codeword/?done=cancel")
    cancelled = appointment(sandbox, LATER)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
            "code": "pat",
            "display": "Patient",
        }
    ]
    assert f'value="cancel:{LATER}"' not in done.text  # no longer upcoming


def test_a_used_verification_cannot_make_a_second_change(
    enrolled: Person, desk: Person, sandbox: RunningSandbox
) -> None:
    granted = desk.verify(WORD)
    first = desk.submit(granted.text, "/codeword/change", date="2031-05-06", time="09:30")
    again = desk.submit(granted.text, "/codeword/change", date="2031-05-07", time="11:00")

    assert first.status_code == 200
    assert again.status_code == 409
    assert text_of(again.text, "outcome") == (
        "This verification was already used. Verify the caller again for another change."
    )
    assert len(appointment_puts(sandbox)) == 1
    assert appointment(sandbox)["start"].startswith("2031-05-06T09:30")


def test_a_verification_covers_only_its_appointment_and_action(
    enrolled: Person, desk: Person, sandbox: RunningSandbox
) -> None:
    granted = desk.verify(WORD)  # move appt-1-next
    fields = hidden_fields(granted.text)
    other = desk.post(
        "/codeword/change", {**fields, "action": "cancel", "appointment": LATER, "reason": "pat"}
    )

    assert other.status_code == 409
    assert text_of(other.text, "outcome") == (
        "This verification does not cover this change. Verify the caller again."
    )
    assert appointment_puts(sandbox) == []
    assert appointment(sandbox, LATER)["status"] == "booked"


def test_a_past_time_is_refused_before_anything_is_claimed(
    enrolled: Person, desk: Person, sandbox: RunningSandbox
) -> None:
    granted = desk.verify(WORD)
    past = desk.submit(granted.text, "/codeword/change", date="2001-01-01", time="09:00")
    later = desk.submit(past.text, "/codeword/change", date="2031-01-01", time="09:00")

    assert past.status_code == 400
    assert text_of(past.text, "change-error") == "Choose a new time in the future."
    assert later.url.endswith("?done=reschedule")
    assert len(appointment_puts(sandbox)) == 1


def test_incomplete_forms_are_explained_and_not_counted(
    quietline: Quietline, enrolled: Person, desk: Person
) -> None:
    page = desk.get("/codeword/")
    answer = desk.post("/codeword/verify", {"csrf": csrf(page.text), "word": " "})

    assert answer.status_code == 400
    assert text_of(answer.text, "form-problems") == (
        "Choose what the caller is asking for. Type what the caller says."
    )
    assert _verify_attempts(quietline) == []


def test_verification_needs_the_form_token(
    quietline: Quietline, enrolled: Person, desk: Person
) -> None:
    desk.get("/codeword/")
    forged = desk.post("/codeword/verify", {"choice": f"reschedule:{NEXT}", "word": WORD})
    other_purpose = desk.post(
        "/codeword/verify", {"csrf": "0" * 64, "choice": f"reschedule:{NEXT}", "word": WORD}
    )

    assert forged.status_code == 400
    assert 'data-error="csrf_failed"' in forged.text
    assert other_purpose.status_code == 400
    assert _verify_attempts(quietline) == []


def test_actions_outside_the_protocol_are_not_required(
    quietline: Quietline, enrolled: Person, desk: Person
) -> None:
    codewords(quietline).policies.save(
        "sandbox", VerificationPolicy(actions=frozenset({Action.RESCHEDULE})), actor="admin"
    )
    answer = desk.verify("anything at all", choice=f"cancel:{NEXT}")
    booking = desk.verify("anything at all", choice="book")

    assert answer.status_code == 200
    assert text_of(answer.text, "outcome") == (
        "The practice's protocol does not ask for the word for this kind of change. "
        "Make it in the EHR as usual."
    )
    assert text_of(booking.text, "outcome") == text_of(answer.text, "outcome")


def test_a_booking_verification_says_to_book_in_the_ehr(
    quietline: Quietline, enrolled: Person, desk: Person
) -> None:
    codewords(quietline).policies.save(
        "sandbox",
        VerificationPolicy(actions=frozenset({Action.RESCHEDULE, Action.BOOK})),
        actor="admin",
    )
    granted = desk.verify(WORD, choice="book")

    assert granted.status_code == 200
    assert has_id(granted.text, "book-now")
    assert 'name="token"' not in granted.text
    grants = codewords(quietline).open_book_grants("sandbox", "pat-1")
    assert len(grants) == 1


def test_too_many_attempts_are_rate_limited(
    quietline: Quietline, enrolled: Person, desk: Person
) -> None:
    answers = [desk.verify(f"guess number {n}").status_code for n in range(20)]
    limited = desk.verify(WORD)

    assert answers[:2] == [400, 400]
    assert set(answers[2:]) == {423}
    assert limited.status_code == 429
    assert text_of(limited.text, "outcome") == (
        "Too many verification attempts in a short time. Wait a few minutes, then try again."
    )


def test_a_launch_asking_for_verification_preselects_the_change(
    enrolled: Person, sandbox: RunningSandbox
) -> None:
    desk = Person(sandbox, "frontdesk")
    context = '{"verify": {"appointment": "appt-1-later", "action": "cancel"}}'

    landing = desk.launch(app_context=context)

    assert landing.url.endswith("/codeword/")
    assert f'value="cancel:{LATER}" checked' in landing.text
    assert landing.text.count(" checked") == 1
    assert all(LATER not in url for url in desk.walker.visited if "/l/" in url)


@pytest.mark.parametrize(
    "context",
    [
        '{"verify": {"appointment": "appt-2-next", "action": "cancel"}}',  # not this client's
        '{"verify": {"appointment": "appt-1-next", "action": "delete"}}',
        '{"verify": "appt-1-next"}',
        "not json",
    ],
)
def test_an_unusable_app_context_preselects_nothing(
    enrolled: Person, sandbox: RunningSandbox, context: str
) -> None:
    desk = Person(sandbox, "frontdesk")
    desk.launch(app_context=context)

    page = desk.get("/codeword/")

    assert page.status_code == 200
    assert " checked" not in page.text


def test_a_booking_link_preselects_booking(enrolled: Person, sandbox: RunningSandbox) -> None:
    desk = Person(sandbox, "frontdesk")

    landing = desk.launch(app_context='{"verify": {"action": "book"}}')

    assert 'id="choice-book" name="choice" value="book" checked' in landing.text


def test_an_ehr_outage_changes_nothing_and_keeps_the_verification(
    enrolled: Person, desk: Person, sandbox: RunningSandbox
) -> None:
    granted = desk.verify(WORD)
    sandbox.faults.fhir_down = True
    try:
        down = desk.submit(granted.text, "/codeword/change", date="2031-05-06", time="09:30")
        listing = desk.get("/codeword/")
    finally:
        sandbox.faults.fhir_down = False

    assert down.status_code == 503
    assert text_of(down.text, "change-error") == (
        "The EHR could not be reached, so nothing was changed. Try again in a moment."
    )
    assert "can be used once, until" in text_of(down.text, "verified")
    assert appointment_puts(sandbox) == []
    assert has_id(listing.text, "ehr-down")

    again = desk.submit(down.text, "/codeword/change", date="2031-05-06", time="09:30")
    assert again.url.endswith("?done=reschedule")
    assert len(appointment_puts(sandbox)) == 1
