# SPDX-License-Identifier: Apache-2.0
"""Bad input to the code-word forms over real HTTP: every missing, empty, oversized, wrongly
typed or tampered field gets a 4xx page with a plain message, and nothing changes - in the EHR
(no write reaches the sandbox) or in Quietline (the word, its counter and pending reset)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

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
from tests.unit.plugin.codeword.ui_support import audit_actions
from tests.unit.plugin.codeword.ui_support import codewords
from tests.unit.plugin.codeword.ui_support import text_of

OTHERS = "appt-2-next"
"""An appointment of another client (``pat-2``)."""
NEW_WORD = "violet kettle meadow"
LONG = "x" * 5000
UNICODE = "\uff83\uff7d\uff84\u202e\u0000\U0001f600"
"""Half-width katakana, a right-to-left override, NUL and an emoji."""
FULL_WIDTH_DATE = "2031-05-06".translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
ROUTES = ("verify", "change", "enroll", "unlock", "approve")
FIELDS = ("csrf", "choice", "word", "token", "action", "appointment", "date", "time", "reason",
          "present", "current", "confirm")  # fmt: skip


@pytest.fixture
def therapist(sandbox: RunningSandbox) -> Person:
    person = Person(sandbox, "therapist")
    person.launch()
    assert person.enroll().status_code == 200
    return person


@pytest.fixture
def desk(sandbox: RunningSandbox, therapist: Person) -> Person:
    del therapist  # enrolled first
    person = Person(sandbox, "frontdesk")
    person.launch()
    return person


def _ehr_writes(sandbox: RunningSandbox) -> list[Any]:
    return [
        record
        for method in ("PUT", "POST", "PATCH", "DELETE")
        for record in sandbox.request_log.matching("/fhir/", method)
    ]


def _state(quietline: Quietline, sandbox: RunningSandbox) -> tuple[Any, ...]:
    """What must not change: the appointments in the EHR and the word's state in Quietline."""
    status = codewords(quietline).status("sandbox", "pat-1")
    return (
        [appointment(sandbox, a) for a in (NEXT, LATER, OTHERS)],
        status.failures,
        status.locked_until,
        status.pending_reset,
        status.enrolled_at,
        [e for e in audit_actions(quietline) if e[0] != "codeword:word:verify"],
    )


def _assert_refused(answer: Any, status: int = 400) -> None:
    assert answer.status_code == status, answer.text[:500]
    assert "Traceback" not in answer.text
    assert "unexpected problem" not in answer.text


# -- the front desk's verification form ----------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"choice": None},
        {"choice": ""},
        {"choice": "garbage"},
        {"choice": "reschedule:"},
        {"choice": "reschedule"},
        {"choice": "delete:" + NEXT},
        {"choice": "cancel:" + "a" * 65},
        {"choice": "cancel:" + LONG},
        {"choice": "cancel:../Patient/pat-1"},
        {"choice": "cancel:.."},
        {"choice": "cancel:appt-1-néxt"},
        {"choice": "book:" + NEXT},
        {"choice": UNICODE},
        {"word": None},
        {"word": ""},
        {"word": "   "},
        {"word": "w" * 129},
        {"word": LONG},
        {"word": "é" * 200},
        {"csrf": None},
        {"csrf": ""},
        {"csrf": "é" * 64},
        {"csrf": LONG},
    ],
)
def test_bad_verification_forms_are_refused_and_not_counted(
    quietline: Quietline, sandbox: RunningSandbox, desk: Person, fields: dict[str, str | None]
) -> None:
    page = desk.get("/codeword/")
    form = {"csrf": csrf(page.text), "choice": f"reschedule:{NEXT}", "word": WORD, **fields}
    before = _state(quietline, sandbox)

    answer = desk.post("/codeword/verify", {k: v for k, v in form.items() if v is not None})

    _assert_refused(answer)
    assert 'name="token"' not in answer.text
    assert [e for e in audit_actions(quietline) if e[0] == "codeword:word:verify"] == []
    assert _state(quietline, sandbox) == before
    assert _ehr_writes(sandbox) == []


def test_another_clients_appointment_is_refused_at_verification(
    quietline: Quietline, sandbox: RunningSandbox, desk: Person
) -> None:
    answer = desk.verify(WORD, choice=f"cancel:{OTHERS}")

    _assert_refused(answer, 409)
    assert text_of(answer.text, "outcome") == (
        "This appointment is not one of this client's. Nothing was changed."
    )
    assert 'name="token"' not in answer.text
    assert ("codeword:word:verify", "denied") in audit_actions(quietline)
    assert _ehr_writes(sandbox) == []


# -- the front desk's change form ----------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "fields", "status"),
    [
        (f"reschedule:{NEXT}", {"token": None}, 400),
        (f"reschedule:{NEXT}", {"token": ""}, 400),
        (f"reschedule:{NEXT}", {"token": "garbage"}, 400),
        (f"reschedule:{NEXT}", {"token": LONG}, 400),
        (f"reschedule:{NEXT}", {"token": UNICODE * 8}, 400),
        (f"reschedule:{NEXT}", {"token": "A" * 43}, 409),  # well formed, but no such grant
        (f"reschedule:{NEXT}", {"action": None}, 400),
        (f"reschedule:{NEXT}", {"action": ""}, 400),
        (f"reschedule:{NEXT}", {"action": "book"}, 400),
        (f"reschedule:{NEXT}", {"action": "delete"}, 400),
        (f"reschedule:{NEXT}", {"action": LONG}, 400),
        (f"reschedule:{NEXT}", {"action": "cancel", "reason": "pat"}, 409),  # not the grant's
        (f"reschedule:{NEXT}", {"appointment": None}, 400),
        (f"reschedule:{NEXT}", {"appointment": ""}, 400),
        (f"reschedule:{NEXT}", {"appointment": "../Patient/pat-1"}, 400),
        (f"reschedule:{NEXT}", {"appointment": LONG}, 400),
        (f"reschedule:{NEXT}", {"appointment": UNICODE}, 400),
        (f"reschedule:{NEXT}", {"appointment": LATER}, 409),  # this client's, not the grant's
        (f"reschedule:{NEXT}", {"appointment": OTHERS}, 409),  # another client's
        (f"reschedule:{NEXT}", {"date": None}, 400),
        (f"reschedule:{NEXT}", {"date": ""}, 400),
        (f"reschedule:{NEXT}", {"date": "garbage"}, 400),
        (f"reschedule:{NEXT}", {"date": "2031-02-30"}, 400),
        (f"reschedule:{NEXT}", {"date": "9999-12-31"}, 400),
        (f"reschedule:{NEXT}", {"date": "0001-01-01"}, 400),
        (f"reschedule:{NEXT}", {"date": FULL_WIDTH_DATE}, 400),
        (f"reschedule:{NEXT}", {"date": LONG}, 400),
        (f"reschedule:{NEXT}", {"time": None}, 400),
        (f"reschedule:{NEXT}", {"time": ""}, 400),
        (f"reschedule:{NEXT}", {"time": "25:00"}, 400),
        (f"reschedule:{NEXT}", {"time": "garbage"}, 400),
        (f"reschedule:{NEXT}", {"time": UNICODE}, 400),
        (f"reschedule:{NEXT}", {"time": LONG}, 400),
        (f"cancel:{LATER}", {"reason": None}, 400),
        (f"cancel:{LATER}", {"reason": ""}, 400),
        (f"cancel:{LATER}", {"reason": "because"}, 400),
        (f"cancel:{LATER}", {"reason": LONG}, 400),
        (f"cancel:{LATER}", {"reason": UNICODE}, 400),
        (f"cancel:{LATER}", {"csrf": None}, 400),
        (f"cancel:{LATER}", {"csrf": "é"}, 400),
    ],
)
def test_bad_change_forms_are_refused_and_change_nothing(
    quietline: Quietline,
    sandbox: RunningSandbox,
    desk: Person,
    choice: str,
    fields: dict[str, str | None],
    status: int,
) -> None:
    granted = desk.verify(WORD, choice=choice)
    assert granted.status_code == 200
    good = (
        {"date": "2031-05-06", "time": "09:30"}
        if choice.startswith("reschedule")
        else {"reason": "pat"}
    )
    form = {**hidden_fields(granted.text), **good, **fields}
    before = _state(quietline, sandbox)

    answer = desk.post("/codeword/change", {k: v for k, v in form.items() if v is not None})

    _assert_refused(answer, status)
    assert _ehr_writes(sandbox) == []
    assert _state(quietline, sandbox) == before


def test_an_incomplete_change_form_says_so_plainly(desk: Person) -> None:
    page = desk.get("/codeword/")

    answer = desk.post("/codeword/change", {"csrf": csrf(page.text)})

    _assert_refused(answer)
    assert text_of(answer.text, "outcome") == (
        "This form was incomplete or changed, so nothing was changed. Verify the caller again."
    )


# -- the clinician's forms -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": None}, "Choose why the client needs a new word."),
        ({"reason": ""}, "Choose why the client needs a new word."),
        ({"reason": "because"}, "Choose why the client needs a new word."),
        ({"reason": LONG}, "Choose why the client needs a new word."),
        ({"reason": UNICODE}, "Choose why the client needs a new word."),
        ({"present": None}, "Confirm that the client is here with you."),
        ({"present": "no"}, "Confirm that the client is here with you."),
        ({"present": LONG}, "Confirm that the client is here with you."),
        ({"current": None}, "Type the client's current word"),
        ({"current": ""}, "Type the client's current word"),
        ({"current": LONG}, "The current word typed is longer than"),
        ({"word": None}, "Choose a different word"),
        ({"word": ""}, "Choose a different word"),
        ({"word": LONG}, "Choose a different word"),
        ({"word": UNICODE}, "Choose a different word"),
        ({"confirm": None}, "Choose a different word"),
        ({"confirm": LONG}, "Choose a different word"),
        ({"csrf": "é"}, "could not be used"),
    ],
)
def test_bad_enrollment_forms_are_refused_and_change_nothing(
    quietline: Quietline,
    sandbox: RunningSandbox,
    therapist: Person,
    fields: dict[str, str | None],
    message: str,
) -> None:
    page = therapist.get("/codeword/enroll")
    form = {"csrf": csrf(page.text), "word": NEW_WORD, "confirm": NEW_WORD, "present": "yes",
            "reason": "change", "current": WORD, **fields}  # fmt: skip
    before = _state(quietline, sandbox)

    answer = therapist.post("/codeword/enroll", {k: v for k, v in form.items() if v is not None})

    _assert_refused(answer)
    assert message in html.unescape(answer.text)
    assert _state(quietline, sandbox) == before
    assert _ehr_writes(sandbox) == []


@pytest.mark.parametrize("present", [None, "", "no", LONG, UNICODE])
def test_bad_unlock_forms_are_refused(
    quietline: Quietline, sandbox: RunningSandbox, therapist: Person, present: str | None
) -> None:
    page = therapist.get("/codeword/enroll")
    form = {"csrf": csrf(page.text), "present": present}
    before = _state(quietline, sandbox)

    answer = therapist.post("/codeword/unlock", {k: v for k, v in form.items() if v is not None})

    _assert_refused(answer)
    assert "Confirm that the client is here with you" in answer.text
    assert _state(quietline, sandbox) == before


def test_approving_when_nothing_waits_is_refused_plainly(
    quietline: Quietline, sandbox: RunningSandbox, therapist: Person
) -> None:
    codewords(quietline).policies.save(
        "sandbox", VerificationPolicy(second_approval=True), actor="Practitioner/admin"
    )
    assert therapist.enroll(NEW_WORD, reason="forgotten").url.endswith("?done=pending")
    admin = Person(sandbox, "admin")
    admin.launch()
    token = csrf(admin.get("/codeword/approve").text)
    assert admin.post("/codeword/approve", {"csrf": token}).url.endswith("?done=approved")

    again = admin.post("/codeword/approve", {"csrf": token, "extra": LONG})

    _assert_refused(again, 409)
    assert text_of(again.text, "approve-error") == (
        "There is no code word reset waiting for approval."
    )


# -- anything at all ------------------------------------------------------------------------

_VALUES = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "yes", "book", "reschedule", "cancel", "change", "forgotten", "pat",
                     f"reschedule:{NEXT}", f"cancel:{LATER}", f"cancel:{OTHERS}", NEXT, OTHERS,
                     "2031-05-06", "09:30", "9999-12-31", "24:00", WORD, NEW_WORD, LONG]),
)  # fmt: skip
_FORMS = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS[1:]), st.text(min_size=1, max_size=20)), _VALUES, max_size=8
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(ROUTES), form=_FORMS)
def test_no_form_gets_a_server_error_or_writes_to_the_ehr(
    quietline: Quietline,
    sandbox: RunningSandbox,
    therapist: Person,
    desk: Person,
    route: str,
    form: dict[str, str],
) -> None:
    codewords(quietline).policies.save(
        "sandbox", VerificationPolicy(second_approval=True), actor="Practitioner/admin"
    )
    person, page = (desk, "/codeword/") if route in {"verify", "change"} else (
        therapist, "/codeword/enroll"
    )  # fmt: skip
    token = csrf(person.get(page).text) if person.token == "" else person.token
    person.token = token

    answer = person.post(f"/codeword/{route}", {**form, "csrf": token})

    assert answer.status_code < 500, answer.text[:500]
    assert _ehr_writes(sandbox) == []
