# SPDX-License-Identifier: Apache-2.0
"""The scheduling page: the schedule, Book and Change written into the EHR, "Verify in Quietline"."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import requests

from smart_launch.sandbox.schedule import parse_start
from smart_launch.sandbox.seed import APPOINTMENTS
from smart_launch.sandbox.seed import PATIENTS
from smart_launch.sandbox.state import get_state
from smart_launch.sandbox.validation import validate_resource
from tests.unit.smart_launch.sandbox.desk import Desk
from tests.unit.smart_launch.sandbox.desk import iframe_src

if TYPE_CHECKING:
    from smart_launch.sandbox import RunningSandbox
    from smart_launch.sandbox.store import ResourceStore
    from tests.unit.smart_launch.sandbox.conftest import Flow


@pytest.fixture
def desk(sandbox: RunningSandbox, http: requests.Session) -> Desk:
    return Desk(sandbox, http)


def _store(sandbox: RunningSandbox) -> ResourceStore:
    return get_state(sandbox.app).store


def test_the_schedule_lists_every_patients_upcoming_appointments(desk: Desk) -> None:
    page = desk.open()
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<h1>Schedule</h1>" in page.text
    assert "Signed in as <strong>Sam Okafor</strong>" in page.text
    for patient in PATIENTS:
        past, following, later = APPOINTMENTS[patient]
        assert f'data-appointment="{following}"' in page.text
        assert f'data-appointment="{later}"' in page.text
        assert f'data-appointment="{past}"' not in page.text
    for name in ("Avery Lindqvist", "Quinn Haddad", "Dr. Morgan Reyes"):
        assert name in page.text
    assert page.text.count("Verify in Quietline") == 2 * len(PATIENTS)
    assert page.text.count("Cancel appointment") == 2 * len(PATIENTS)


@pytest.mark.parametrize("user", ["", "nobody"])
def test_an_unknown_user_gets_an_error_page(desk: Desk, user: str) -> None:
    desk.user = user
    page = desk.open()
    assert page.status_code == 400
    assert "data-appointment" not in page.text


def test_the_home_page_links_to_the_schedule(sandbox: RunningSandbox) -> None:
    index = requests.get(sandbox.url + "/", timeout=5).text
    for user in ("frontdesk", "therapist", "admin"):
        assert f'href="/ehr/schedule?user={user}"' in index


def test_book_creates_a_booked_appointment(desk: Desk, sandbox: RunningSandbox) -> None:
    before = {stored.id for stored in _store(sandbox).current("Appointment")}
    response = desk.book("pat-2", "2099-05-04T09:30")
    assert response.status_code == 303
    assert response.headers["Location"] == "/ehr/schedule?user=frontdesk&done=book"
    (new,) = [s for s in _store(sandbox).current("Appointment") if s.id not in before]
    validate_resource("Appointment", new.body)
    assert new.version == 1
    assert new.body["status"] == "booked"
    assert new.body["start"] == "2099-05-04T09:30:00+00:00"
    assert new.body["end"] == "2099-05-04T10:20:00+00:00"
    actors = [p["actor"]["reference"] for p in new.body["participant"]]
    assert actors == ["Patient/pat-2", "Practitioner/therapist"]
    page = desk.open(done="book")
    assert "The appointment was booked." in page.text
    assert f'data-appointment="{new.id}"' in page.text
    assert sandbox.cds_log == []  # no CDS service registered: nothing was called


def test_the_booked_appointment_is_readable_over_fhir(
    desk: Desk, sandbox: RunningSandbox, flow: Flow, user_token: str
) -> None:
    desk.book("pat-1", "2099-06-01T14:00")
    found = flow.fhir("GET", "/Appointment?patient=pat-1&date=2099-06-01", user_token)
    assert found.status_code == 200
    (entry,) = found.json()["entry"]
    assert entry["resource"]["status"] == "booked"


def test_change_moves_the_appointment_as_a_new_version(desk: Desk, sandbox: RunningSandbox) -> None:
    store = _store(sandbox)
    original = store.read("Appointment", "appt-1-next")
    assert original is not None
    response = desk.move("appt-1-next", "2099-07-08T11:15")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("done=move")
    moved = store.read("Appointment", "appt-1-next")
    assert moved is not None
    validate_resource("Appointment", moved.body)
    assert moved.version == original.version + 1
    assert (moved.body["start"], moved.body["end"]) == (
        "2099-07-08T11:15:00+00:00",
        "2099-07-08T12:05:00+00:00",
    )
    assert moved.body["status"] == "booked"
    history = store.vread("Appointment", "appt-1-next", original.version)
    assert history is not None
    assert history.body["start"] == original.body["start"]


def test_change_cancels_the_appointment_as_a_new_version(
    desk: Desk, sandbox: RunningSandbox
) -> None:
    store = _store(sandbox)
    assert desk.cancel("appt-3-later").status_code == 303
    cancelled = store.read("Appointment", "appt-3-later")
    assert cancelled is not None
    validate_resource("Appointment", cancelled.body)
    assert cancelled.version == 2
    assert cancelled.body["status"] == "cancelled"
    assert cancelled.body["cancelationReason"] == {"text": "Cancelled at the front desk"}
    row = desk.open().text.split('data-appointment="appt-3-later"')[1].split("</tr>")[0]
    assert "No actions" in row
    assert "Verify in Quietline" not in row


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"patient": "pat-9", "start": "2099-01-01T10:00"}, "Choose a patient."),
        ({"patient": "", "start": "2099-01-01T10:00"}, "Choose a patient."),
        ({"patient": "pat-1", "start": "tomorrow"}, "Enter the start date and time."),
        ({"patient": "pat-1", "start": ""}, "Enter the start date and time."),
    ],
)
def test_an_incomplete_booking_writes_nothing(
    desk: Desk, sandbox: RunningSandbox, fields: dict[str, str], problem: str
) -> None:
    count = len(_store(sandbox).current("Appointment"))
    response = desk.post("/ehr/schedule/book", **fields)
    assert response.status_code == 400
    assert problem in response.text
    assert len(_store(sandbox).current("Appointment")) == count


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"appointment": "appt-1-next", "change": "move", "start": "soon"}, 400),
        ({"appointment": "appt-1-next", "change": "delete"}, 400),
        ({"appointment": "appt-9-next", "change": "cancel"}, 404),
        ({"appointment": "", "change": "cancel"}, 404),
    ],
)
def test_an_incomplete_change_writes_nothing(
    desk: Desk, sandbox: RunningSandbox, fields: dict[str, str], status: int
) -> None:
    assert desk.post("/ehr/schedule/change", **fields).status_code == status
    stored = _store(sandbox).read("Appointment", "appt-1-next")
    assert stored is not None
    assert stored.version == 1


@pytest.mark.parametrize("path", ["/ehr/schedule/book", "/ehr/schedule/change"])
def test_forms_without_the_session_token_are_refused(
    desk: Desk, sandbox: RunningSandbox, path: str
) -> None:
    desk.open()
    desk.csrf = "forged"
    fields = {"patient": "pat-1", "start": "2099-01-01T10:00", "appointment": "appt-1-next"}
    response = desk.post(path, change="cancel", **fields)
    assert response.status_code == 400
    assert "The form expired" in response.text
    stored = _store(sandbox).read("Appointment", "appt-1-next")
    assert stored is not None
    assert stored.version == 1
    assert len(_store(sandbox).current("Appointment")) == 3 * len(PATIENTS)


def test_verify_in_quietline_launches_with_the_verification_context(desk: Desk, flow: Flow) -> None:
    page = desk.open(verify="appt-3-next")
    assert page.status_code == 200
    src = iframe_src(page)
    assert "appt-3-next" not in src
    launch = flow.query_of(src)["launch"]
    body = flow.token(launch=launch)
    assert body["patient"] == "pat-3"
    assert json.loads(body["appContext"]) == {
        "verify": {"appointment": "appt-3-next", "action": "reschedule"}
    }


@pytest.mark.parametrize("appointment", ["appt-9-next", "no such id"])
def test_verify_for_an_unknown_appointment_is_refused(desk: Desk, appointment: str) -> None:
    page = desk.open(verify=appointment)
    assert page.status_code == 400
    assert 'id="app-frame"' not in page.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2099-01-02T03:04", "2099-01-02T03:04:00+00:00"),
        ("2099-01-02T03:04:59", "2099-01-02T03:04:00+00:00"),
        ("2099-13-02T03:04", None),
        ("02/01/2099 03:04", None),
        ("", None),
    ],
)
def test_start_values_are_read_as_utc(value: str, expected: str | None) -> None:
    parsed = parse_start(value)
    assert (None if parsed is None else parsed.isoformat()) == expected
