# SPDX-License-Identifier: Apache-2.0
"""Code-word verification in a real browser: the whole story inside the sandbox EHR.

Quietline (``localhost``) runs in the sandbox EHR's chart iframe (``127.0.0.1``) in headless
Chromium at 1024x768 with third-party cookies blocked.  Every step is a click, a key press or
typing on the pages themselves:

1. The therapist sets up ``pat-1``'s verification word with the client (chart launch).
2. The front desk types a caller's wrong word until changes pause; the EHR receives a
   Communication addressed to the therapist, and the therapist's Quietline home shows the alert.
3. The therapist clears the pause with the client present; the right word then moves the
   appointment, and the sandbox EHR shows the new time.
4. Booking for the client on the EHR's scheduling page shows Quietline's CDS card, whose link
   opens the verification screen with the booking chosen.
5. The front desk's verification and a cancellation, with the keyboard alone.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from plugin.cds.cards import SUMMARY
from plugin.codeword.alerts import COMMUNICATION_TEXT
from plugin.codeword.alerts import NOTICE_TEXT
from plugin.codeword.interfaces import PatientFacts
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.e2e import codeword_pages as cw
from tests.e2e.browser import csp_violations
from tests.e2e.test_accessibility import Flow
from tests.e2e.test_accessibility import assert_tab_order
from tests.e2e.test_accessibility import focused
from tests.e2e.test_accessibility import tab_to
from tests.support.servers import Quietline

pytestmark = pytest.mark.browser

BANNED = ("stalk", "abuse", "violen", "victim", "harass", "danger", "safety", "threat")


def _stored(sandbox: RunningSandbox, resource_type: str) -> list[dict[str, Any]]:
    return [dict(s.body) for s in get_state(sandbox.app).store.current(resource_type)]


def _appointment(sandbox: RunningSandbox, appointment_id: str) -> dict[str, Any]:
    stored = get_state(sandbox.app).store.read("Appointment", appointment_id)
    assert stored is not None
    return dict(stored.body)


def _admin_requires_the_word_for_bookings(flow: Flow) -> None:
    cw.protocol_page(flow)
    flow.app.get_by_label("Book an appointment", exact=True).check()
    flow.app.get_by_role("button", name="Save the protocol").click()
    expect(flow.app.locator("#protocol-saved")).to_contain_text("saved as version 1")


def _therapist_enrolls_with_the_client(flow: Flow) -> None:
    cw.enroll_page(flow)
    for field in ("#word", "#confirm"):
        expect(flow.app.locator(field)).to_have_attribute("type", "password")
    cw.enrolled(flow)
    expect(flow.app.locator("#status")).to_have_attribute("data-enrolled", "yes")
    assert cw.WORD not in flow.frame().content()


def _caller_with_the_wrong_word_is_paused(flow: Flow) -> None:
    flow.chart("frontdesk")
    flow.app.get_by_role("link", name="Appointment verification").click()
    flow.heading("Appointment verification")
    cw.check_word(flow, cw.WRONG)
    expect(flow.app.locator("#outcome")).to_have_text(
        "That does not match. 2 tries left before changes are paused."
    )
    cw.check_word(flow, cw.WRONG)
    cw.check_word(flow, "another wrong guess")
    paused = flow.app.locator("#outcome")
    expect(paused).to_contain_text("Changes for this client are paused until")
    expect(paused).to_contain_text("Do not make the change; the treating clinician has been told.")
    text = flow.frame().content().lower()
    assert not any(word in text for word in BANNED)


def _clinician_is_alerted_in_the_ehr_and_in_quietline(flow: Flow) -> None:
    assert get_service(OutboxWorker, flow.quietline.app).run_once() == 3
    messages = _stored(flow.sandbox, "Communication")
    assert {m["recipient"][0]["reference"] for m in messages} == {"Practitioner/therapist"}
    assert {m["subject"]["reference"] for m in messages} == {"Patient/pat-1"}
    assert COMMUNICATION_TEXT["verification-locked"] in {
        m["payload"][0]["contentString"] for m in messages
    }
    flow.chart("therapist")
    attention = flow.app.locator(".attention")
    expect(attention).to_contain_text(NOTICE_TEXT["verification-locked"])
    expect(attention).to_contain_text("This concerns the client whose chart is open.")


def _therapist_clears_the_pause_in_person(flow: Flow) -> None:
    flow.chart("therapist")
    flow.app.get_by_role("link", name="Verification word set-up").click()
    flow.heading("Verification word")
    flow.app.locator("#unlock-present").check()
    flow.app.get_by_role("button", name="Clear the pause").click()
    expect(flow.app.locator("#word-done")).to_contain_text("The pause was cleared.")


def _right_word_moves_the_appointment(flow: Flow, day: str) -> None:
    flow.chart("frontdesk")
    flow.app.get_by_role("link", name="Appointment verification").click()
    flow.heading("Appointment verification")
    cw.check_word(flow, cw.WORD)
    flow.heading("Make the change")
    flow.app.get_by_label("New date").fill(day)
    flow.app.get_by_label("New start time").fill("07:00")
    flow.app.get_by_role("button", name="Move the appointment").click()
    expect(flow.app.locator("#change-done")).to_contain_text("The appointment was moved.")
    assert _appointment(flow.sandbox, "appt-1-next")["start"].startswith(f"{day}T07:00")
    # The EHR's own patient list shows the new time.
    flow.page.goto(f"{flow.sandbox.url}/")
    row = flow.page.get_by_role("row").filter(has_text="Lindqvist")
    expect(row).to_contain_text(f"{day} 07:00")


def _booking_in_the_ehr_shows_the_card_and_its_link_verifies(flow: Flow, day: str) -> None:
    page = flow.page
    page.goto(f"{flow.sandbox.url}/ehr/schedule?user=frontdesk")
    page.get_by_label("Patient", exact=True).select_option("pat-1")
    page.get_by_label("Start (UTC)", exact=True).fill(f"{day}T15:00")
    page.get_by_role("button", name="Book", exact=True).click()
    card = page.locator("article.cds-card")
    expect(card.locator(".cds-summary")).to_have_text(SUMMARY)
    expect(card.locator(".cds-indicator")).to_have_text("Critical")
    assert not any(word in card.inner_text().lower() for word in BANNED)
    card.get_by_role("button", name="Verify the caller in Quietline").click()
    flow.heading("Appointment verification")
    expect(flow.app.locator("#choice-book")).to_be_checked()
    flow.app.get_by_label("What the caller says", exact=True).fill(cw.WORD)
    flow.app.get_by_role("button", name="Check the word").click()
    flow.heading("Make the change")
    expect(flow.app.locator("#book-now")).to_be_visible()


def test_the_whole_story(
    page: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    flow = Flow(page, quietline, sandbox)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()

    _admin_requires_the_word_for_bookings(flow)
    _therapist_enrolls_with_the_client(flow)
    _caller_with_the_wrong_word_is_paused(flow)
    assert sandbox.request_log.matching("/fhir/Appointment/", "PUT") == []
    _clinician_is_alerted_in_the_ehr_and_in_quietline(flow)
    _therapist_clears_the_pause_in_person(flow)
    _right_word_moves_the_appointment(flow, tomorrow)
    _booking_in_the_ehr_shows_the_card_and_its_link_verifies(flow, tomorrow)
    assert csp_violations(console) == []


def test_verification_and_a_cancellation_by_keyboard_alone(
    page: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    cw.codewords(Flow(page, quietline, sandbox)).enroll(
        tenant="sandbox", patient_id="pat-1", word=cw.WORD, confirm=cw.WORD,
        facts=PatientFacts(("Avery", "Lindqvist"), "1988-04-12"),
        actor="Practitioner/therapist", client_present=True,
    )  # fmt: skip
    flow = Flow(page, quietline, sandbox)
    flow.chart("frontdesk")

    tab_to(page, flow.frame(), "Appointment verification")
    page.keyboard.press("Enter")
    verify = flow.heading("Appointment verification")
    assert_tab_order(page, verify, "verification")

    first_move = flow.app.locator("label[for=reschedule-1]").inner_text().strip()
    tab_to(page, verify, first_move)
    page.keyboard.press("ArrowRight")  # from "Move" to "Cancel" on the same row
    expect(flow.app.locator("#cancel-1")).to_be_checked()
    tab_to(page, verify, "What the caller says")
    page.keyboard.type(cw.WORD)
    page.keyboard.press("Enter")

    change = flow.heading("Make the change")
    assert_tab_order(page, change, "change")
    tab_to(page, change, "Reason for cancelling")
    page.keyboard.press("ArrowDown")
    expect(flow.app.get_by_label("Reason for cancelling")).to_have_value("pat")
    tab_to(page, change, "Cancel the appointment")
    assert focused(change) is not None
    page.keyboard.press("Enter")

    expect(flow.app.locator("#change-done")).to_contain_text("The appointment was cancelled")
    cancelled = _appointment(sandbox, "appt-1-next")
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "pat"
    assert csp_violations(console) == []
