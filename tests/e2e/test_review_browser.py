# SPDX-License-Identifier: Apache-2.0
"""The screening feature in a real browser, the way a therapist uses it inside the EHR.

Quietline (``localhost``) runs in the sandbox EHR's chart iframe (``127.0.0.1``), in headless
Chromium at 1024x768 with third-party cookies blocked.  Every step is a click or a key press on
Quietline's own pages; nothing is posted behind the browser's back.  Two browser actions that
headless Chromium has no key or button for are done through it: the Back button (DevTools
history) and printing the card shown in the iframe (see ``_print_discreet_card``).  The tests
take the screenshots used by docs/clinician-guide.md (``docs/images/clinician-*.png``).

1. A first review: screening, risk review, safety plan, the print question and the discreet
   card, then the minimal note, signed and delivered to the EHR labelled and without answer text.
2. A second visit with a new tactic and more frequent behaviour shows the escalation panel.
3. The screening page completed with the keyboard alone.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from plugin.content import HOTLINES
from plugin.content import PRINT_SAFETY_QUESTION
from plugin.content import RISK_DOMAINS
from plugin.content import SLII
from plugin.content import SPJ_LABEL
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from smart_launch.sandbox.server import RunningSandbox
from tests.e2e.browser import SCREENSHOTS
from tests.e2e.browser import csp_violations
from tests.support.answers import BANNED
from tests.support.answers import FEAR_TEXT
from tests.support.answers import PLAN_TEXT
from tests.support.answers import SECRET_FEAR
from tests.support.answers import SECRET_PLAN
from tests.support.reader import CONFIDENTIALITY
from tests.support.reader import ehr_documents
from tests.support.reader import reader_options
from tests.support.servers import Quietline

pytestmark = pytest.mark.browser


_SLII = {item.link_id: item for section in SLII for item in section.items}
FOLLOWING = _SLII["surveillance.following"]  # pre-marks "followed" (psychological harm)
TURNING_UP = _SLII["life-invasion.turning-up"]  # pre-marks "in person" (violence)
THREATS = _SLII["intimidation.threats-harm"]  # the new tactic on the second visit
TRACKER = _SLII["surveillance.tracker"]
VIOLENCE = {f.id: f for d in RISK_DOMAINS if d.key == "violence" for f in d.factors}
CONTROLLING = VIOLENCE["violence.controlling-jealous"]  # not pre-marked: the clinician marks it

SECRET_RATIONALE = "Turns up at the bakery most weeks since the hearing"
KEYBOARD_FEAR = "that he waits outside the gym again"


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A separate backend client the test uses to read what reached the EHR."""
    return reader_options()


class Clinician:
    """A therapist at the sandbox EHR's chart, working in Quietline's iframe."""

    def __init__(self, page: Any, sandbox: RunningSandbox) -> None:
        self.page = page
        self.sandbox = sandbox
        self.app = page.frame_locator("#app-frame")

    def heading(self, text: str) -> None:
        expect(self.app.locator("h1")).to_have_text(text)

    def frame(self) -> Any:
        frame = self.page.locator("#app-frame").element_handle().content_frame()
        assert frame is not None
        return frame

    def open_chart(self, patient: str = "pat-1") -> None:
        self.page.goto(f"{self.sandbox.url}/ehr/launch?patient={patient}&user=therapist")
        ehr_name = self.page.locator(".patient-banner strong").inner_text().strip()
        expect(self.app.locator("#patient-name")).to_have_text(ehr_name)
        self.heading("Quietline")

    def start_review(self) -> None:
        self.app.get_by_role("link", name="Safety screening and risk review").click()
        self.heading("Safety screening and risk review")
        self.app.get_by_role("button", name="Start a review").click()
        self.heading("Screening")
        self.app.locator("form[data-autosave-ready]").wait_for()

    def item(self, link_id: str) -> Any:
        return self.app.locator(f'[data-item="{link_id}"]')

    def answer(self, link_id: str, answer: str, often: str = "", recently: str = "") -> None:
        item = self.item(link_id)
        item.get_by_label(answer, exact=True).check()
        if often:
            item.get_by_label("How often").select_option(label=often)
        if recently:
            item.get_by_label("Most recently").select_option(label=recently)

    def factor(self, factor_id: str) -> Any:
        return self.app.locator(f'[data-factor="{factor_id}"]')


def _shot(me: Clinician, name: str, at: str | None = None) -> None:
    """The EHR window (1024x768) with Quietline in its iframe, as the clinician sees it.

    With ``at`` (a CSS selector), the EHR page is shown from its top (header and patient
    banner) and that element is scrolled to the top of the iframe's visible part; without it,
    both the EHR page and the iframe are scrolled to their ends (the end of Quietline's page).
    """
    if at is None:
        me.page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        me.frame().evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    else:
        me.page.evaluate("() => window.scrollTo(0, 0)")
        me.app.locator(at).first.evaluate(
            "e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 8)"
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    me.page.screenshot(path=str(SCREENSHOTS / f"clinician-{name}.png"))


def _print_discreet_card(me: Clinician, tmp_path: Path) -> None:
    """Open the discreet card in the iframe and print it to PDF.

    Headless Chromium prints only top-level pages, and a Quietline URL opened top-level has no
    session (the session cookie is partitioned to the EHR's iframe).  So the document the iframe
    received is printed as the browser prints a frame: the same bytes, at the same URL, in a
    top-level page of the same browser.
    """
    with me.page.expect_response(lambda r: r.url.endswith("/handout/discreet")) as received:
        me.app.get_by_role("link", name="Discreet card").click()
    me.heading("Appointment card")
    card = received.value
    assert card.status == 200
    shown = me.app.locator("body").inner_text()
    for line in HOTLINES:
        assert line.phone in shown
    assert [word for word in BANNED if word in shown.lower()] == []

    html = card.text()
    printer = me.page.context.new_page()
    try:
        printer.route(card.url, lambda route: route.fulfill(body=html, content_type="text/html"))
        printer.goto(card.url)
        expect(printer.locator("h1")).to_have_text("Appointment card")
        text = printer.locator("body").inner_text()
        assert [word for word in BANNED if word in text.lower()] == []
        pdf = tmp_path / "discreet-card.pdf"
        printer.pdf(path=str(pdf), format="A6")
        assert pdf.read_bytes().startswith(b"%PDF-")
        assert pdf.stat().st_size > 1000
    finally:
        printer.close()


def _back(page: Any) -> None:
    """The browser's Back button (``page.go_back`` waits for a top-level load that an iframe's
    history step never fires)."""
    cdp = page.context.new_cdp_session(page)
    try:
        history = cdp.send("Page.getNavigationHistory")
        previous = history["entries"][history["currentIndex"] - 1]
        cdp.send("Page.navigateToHistoryEntry", {"entryId": previous["id"]})
    finally:
        cdp.detach()


def _screen(me: Clinician) -> None:
    """Screening: the four SLII groups, how often, how recently; the fear in the client's words."""
    me.start_review()
    for name in ("Surveillance", "Life invasion", "Intimidation", "Interference"):
        expect(me.app.get_by_role("heading", name=name)).to_be_visible()
    me.item("opening.relationship").get_by_role("combobox").select_option(
        label="Former partner (dating, married, lived together)"
    )
    me.answer(FOLLOWING.link_id, "Yes", "About weekly", "In the past month")
    me.answer(TURNING_UP.link_id, "Yes", "About monthly", "In the past week")
    me.answer(TRACKER.link_id, "Unsure")
    me.app.get_by_label(FEAR_TEXT.text).fill(SECRET_FEAR)
    me.item("fear.physical-harm").get_by_role("combobox").select_option(label="Very worried")
    expect(me.app.locator("[data-autosave-status]")).to_have_text("Draft saved.")
    _shot(me, "02-screening", f'[data-item="{FOLLOWING.link_id}"]')
    me.app.get_by_role("button", name="Save and go to risk review").click()


def _review_risk(me: Clinician) -> None:
    """Risk review: labelled as an SPJ aid; factors the answers show are pre-marked and say why."""
    me.heading("Risk review")
    expect(me.app.locator("#spj-label")).to_be_visible()
    expect(me.app.locator("#spj-label")).to_have_text(SPJ_LABEL)
    expect(me.app.locator("#escalation")).to_have_count(0)  # first review: nothing to compare
    for factor_id in ("continued.former-partner", "harm.followed", "violence.in-person"):
        premark = me.app.locator(f'[data-premarked="{factor_id}"]')
        expect(premark).to_contain_text("Marked because the client said")
        expect(me.factor(factor_id).get_by_label("Present")).to_be_checked()
    expect(me.app.locator('[data-premarked="harm.followed"]')).to_contain_text("followed")
    _shot(me, "03-risk-review", "h1")
    controlling = me.factor(CONTROLLING.id)
    expect(controlling.locator("[data-premarked]")).to_have_count(0)
    controlling.get_by_label("Present").check()
    me.app.get_by_label("Moderate", exact=True).check()
    me.app.get_by_label("Rationale").fill(SECRET_RATIONALE)
    me.app.get_by_role("button", name="Save and go to safety planning").click()


def _plan_educate_print(me: Clinician, tmp_path: Path) -> None:
    """Safety plan (one prompt), then the wrap-up: ask before printing, print the discreet card."""
    me.heading("Safety planning")
    expect(me.app.locator("#ehr-contacts")).to_be_visible()
    me.app.get_by_label(PLAN_TEXT.text).fill(SECRET_PLAN)
    _shot(me, "05-safety-plan", "h1")
    me.app.get_by_role("button", name="Save and continue").click()

    me.heading("Education and finish")
    expect(me.app.get_by_text(PRINT_SAFETY_QUESTION)).to_be_visible()
    _shot(me, "06-print")  # the print question is at the end of the page
    _print_discreet_card(me, tmp_path)
    _back(me.page)  # the card has no link back: the browser's Back button
    me.heading("Education and finish")
    me.app.get_by_role("button", name="Finish the review and draft the note").click()


def _sign_note(me: Clinician) -> str:
    """The minimal note composed from the review, signed and sent; returns its text."""
    me.heading("Review the note")
    note = str(me.app.locator("#note-text").input_value())
    assert "Safety screening completed" in note
    assert "moderate" in note
    for secret in (SECRET_FEAR, SECRET_PLAN, SECRET_RATIONALE):
        assert secret not in note
    _shot(me, "07-note", "h1")
    me.app.get_by_role("button", name="Sign and send to the EHR").click()
    expect(me.app.locator("#signed-notice")).to_be_visible()
    return note


def test_review_from_the_chart_to_a_signed_note_in_the_ehr(
    page: Any,
    console: list[str],
    quietline: Quietline,
    sandbox: RunningSandbox,
    tmp_path: Path,
) -> None:
    me = Clinician(page, sandbox)
    me.open_chart()
    expect(me.app.locator('li.capability[data-capability="screening"]')).to_be_visible()
    _shot(me, "01-home")
    _screen(me)
    _review_risk(me)
    _plan_educate_print(me, tmp_path)
    note = _sign_note(me)

    # Delivered by the outbox; the EHR holds a labelled note with no answer text.
    assert get_service(OutboxWorker, quietline.app).run_once() == 1
    (document,) = ehr_documents(sandbox, {"subject": "Patient/pat-1"})
    codes = [(label["system"], label["code"]) for label in document["meta"]["security"]]
    assert {code for _, code in codes} == {"R", "SDV", "PSY", "NORDSCLCD"}
    assert [code for system, code in codes if system == CONFIDENTIALITY] == ["R"]
    sent = base64.b64decode(document["content"][0]["attachment"]["data"]).decode()
    assert sent == note.strip()
    everything = json.dumps(document)
    for secret in (SECRET_FEAR, SECRET_PLAN, SECRET_RATIONALE, FOLLOWING.text, CONTROLLING.text):
        assert secret not in everything
    assert csp_violations(console) == []


def _quick_review(me: Clinician) -> None:
    """A first, short review: one behaviour, about monthly; low concern; finished."""
    me.start_review()
    me.answer(FOLLOWING.link_id, "Yes", "About monthly", "In the past 3 months")
    me.app.get_by_role("button", name="Save and go to risk review").click()
    me.heading("Risk review")
    me.app.get_by_label("Low", exact=True).check()
    me.app.get_by_role("button", name="Save and go to safety planning").click()
    me.heading("Safety planning")
    me.app.get_by_role("link", name="Education and finish").click()
    me.heading("Education and finish")
    me.app.get_by_role("button", name="Finish the review and draft the note").click()
    me.heading("Review the note")


def test_second_visit_shows_what_may_be_escalating(
    page: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    me = Clinician(page, sandbox)
    me.open_chart()
    _quick_review(me)

    # A later session: the client now reports threats, and the following is daily.
    me.open_chart()
    me.app.get_by_role("link", name="Safety screening and risk review").click()
    expect(me.app.locator("#history")).to_contain_text("Earlier reviews with this client: 1")
    me.app.get_by_role("button", name="Start a review").click()
    me.heading("Screening")
    me.answer(FOLLOWING.link_id, "Yes", "Daily or more often", "In the past week")
    me.answer(THREATS.link_id, "Yes", "Once so far", "In the past week")
    me.app.get_by_role("button", name="Save and go to risk review").click()

    me.heading("Risk review")
    panel = me.app.locator("#escalation")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("This may be escalating")
    new_tactics = panel.locator("h3:text-is('New tactics') + ul")
    expect(new_tactics).to_contain_text(THREATS.text)
    expect(new_tactics).not_to_contain_text(FOLLOWING.text)  # not new: seen last time
    expect(panel.locator("h3:text-is('More frequent') + ul")).to_contain_text(FOLLOWING.text)
    expect(panel.locator("h3:text-is('More recent') + ul")).to_contain_text(FOLLOWING.text)
    _shot(me, "04-escalation", "#escalation")
    assert csp_violations(console) == []


def _focused(frame: Any) -> str:
    """The id (or text) of the element that has the keyboard focus in Quietline's frame."""
    return str(
        frame.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.id || e.textContent || '').trim() : ''; }"
        )
    )


def _tab_to(me: Clinician, target: str, *, back: bool = False, limit: int = 400) -> None:
    """Press Tab (or Shift+Tab) until the element with id or text ``target`` has the focus."""
    key = "Shift+Tab" if back else "Tab"
    for _ in range(limit):
        me.page.keyboard.press(key)
        if _focused(me.frame()) == target:
            return
    pytest.fail(f"{target!r} cannot be reached with {key} ({limit} presses)")


def test_screening_can_be_completed_with_the_keyboard_alone(
    page: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    me = Clinician(page, sandbox)
    me.open_chart()
    # From the EHR's own page into Quietline's iframe, with Tab and Enter only.
    _tab_to(me, "Safety screening and risk review")
    page.keyboard.press("Enter")
    me.heading("Safety screening and risk review")
    _tab_to(me, "Start a review")
    page.keyboard.press("Enter")
    me.heading("Screening")

    following = FOLLOWING.link_id
    _tab_to(me, f"{following}-yes")  # the first radio of an unanswered group
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert _focused(me.frame()) == f"{following}-frequency"
    page.keyboard.press("ArrowDown")  # "Not recorded" -> "Daily or more often"
    page.keyboard.press("ArrowDown")  # -> "About weekly"
    page.keyboard.press("Tab")
    assert _focused(me.frame()) == f"{following}-recency"
    page.keyboard.press("ArrowDown")  # -> "In the past week"

    _tab_to(me, f"{TRACKER.link_id}-yes")
    page.keyboard.press("ArrowRight")  # arrows move through and choose: "No"
    _tab_to(me, f"{TURNING_UP.link_id}-yes")
    _tab_to(me, f"{TRACKER.link_id}-no", back=True)  # Shift+Tab returns to the chosen radio
    page.keyboard.press("ArrowRight")  # -> "Unsure"

    _tab_to(me, FEAR_TEXT.link_id)
    page.keyboard.type(KEYBOARD_FEAR)
    _tab_to(me, "Save draft")
    page.keyboard.press("Enter")

    # Saved, and the page shows back exactly what was entered.
    expect(me.app.locator(".notice[role=status]")).to_have_text("Saved.")
    expect(me.app.locator(f"#{following}-yes".replace(".", "\\."))).to_be_checked()
    expect(me.item(following).get_by_label("How often")).to_have_value("weekly")
    expect(me.item(following).get_by_label("Most recently")).to_have_value("past-week")
    expect(me.item(TRACKER.link_id).get_by_label("Unsure", exact=True)).to_be_checked()
    expect(me.app.get_by_label(FEAR_TEXT.text)).to_have_value(KEYBOARD_FEAR)
    assert csp_violations(console) == []
