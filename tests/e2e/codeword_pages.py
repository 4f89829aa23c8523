# SPDX-License-Identifier: Apache-2.0
"""Driving the browser to the code-word pages, the way staff get there (links, forms, keys).

Each function takes the accessibility test's ``Flow`` (the EHR page, Quietline and the sandbox)
and returns the frame showing the page, so ``test_accessibility.PAGES`` and
``test_codeword_browser`` share one way of reaching every screen.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.services import CodewordService
from plugin.registry import get_service

__all__ = [
    "WORD",
    "approve_page",
    "change_page",
    "enroll_page",
    "enroll_paused",
    "enroll_refused",
    "enrolled",
    "home_attention",
    "protocol_errors",
    "protocol_page",
    "verify_page",
    "verify_paused",
    "verify_wrong",
]

WORD = "copper lantern harbour"
WRONG = "copper lantern harbor"


def codewords(flow: Any) -> CodewordService:
    return get_service(CodewordService, flow.quietline.app)


def enroll_page(flow: Any) -> Any:
    """The therapist opens the verification word page from Quietline's home."""
    flow.chart("therapist")
    flow.app.get_by_role("link", name="Verification word set-up").click()
    return flow.heading("Verification word")


def _type_word(flow: Any, word: str, confirm: str | None = None) -> None:
    flow.app.get_by_label("New word", exact=True).fill(word)
    flow.app.get_by_label("The same word again", exact=True).fill(confirm or word)
    flow.app.locator("#present").check()
    flow.app.get_by_role("button", name="Save the word").click()


def enroll_refused(flow: Any) -> Any:
    """A word with the client's family name: the problems are listed."""
    enroll_page(flow)
    _type_word(flow, "Lindqvist forever")
    expect(flow.app.locator("#word-problems")).to_be_visible()
    return flow.frame()


def enrolled(flow: Any) -> Any:
    enroll_page(flow)
    _type_word(flow, WORD)
    expect(flow.app.locator("#word-done")).to_be_visible()
    return flow.frame()


def verify_page(flow: Any) -> Any:
    """After enrollment, the front desk opens appointment verification for the same client."""
    enrolled(flow)
    flow.chart("frontdesk")
    flow.app.get_by_role("link", name="Appointment verification").click()
    return flow.heading("Appointment verification")


def check_word(flow: Any, word: str, choice: str = "Move") -> None:
    flow.app.get_by_role("radio", name=choice).first.check()
    flow.app.get_by_label("What the caller says", exact=True).fill(word)
    flow.app.get_by_role("button", name="Check the word").click()


def verify_wrong(flow: Any) -> Any:
    verify_page(flow)
    check_word(flow, WRONG)
    expect(flow.app.locator("#outcome")).to_contain_text("That does not match.")
    return flow.frame()


def verify_paused(flow: Any) -> Any:
    verify_wrong(flow)
    for _ in range(2):
        check_word(flow, WRONG)
    expect(flow.app.locator("#outcome")).to_contain_text("paused until")
    return flow.frame()


def change_page(flow: Any, choice: str = "Move") -> Any:
    verify_page(flow)
    check_word(flow, WORD, choice)
    return flow.heading("Make the change")


def home_attention(flow: Any) -> Any:
    """The therapist's home after a failed verification: "For your attention"."""
    verify_wrong(flow)
    flow.chart("therapist")
    expect(flow.app.locator("#attention-heading")).to_be_visible()
    return flow.frame()


def enroll_paused(flow: Any) -> Any:
    """The therapist's word page while changes are paused: the in-person clear form."""
    verify_paused(flow)
    enroll_page(flow)
    expect(flow.app.locator("#paused")).to_be_visible()
    return flow.frame()


def approve_page(flow: Any) -> Any:
    """A forgotten word replaced with a second approval: the admin's approval page."""
    codewords(flow).policies.save(
        "sandbox", VerificationPolicy(second_approval=True), actor="Practitioner/admin"
    )
    enrolled(flow)
    flow.app.get_by_label("The client forgot the word", exact=False).check()
    _type_word(flow, "violet kettle meadow")
    expect(flow.app.locator("#pending")).to_be_visible()
    flow.chart("admin")
    flow.app.get_by_role("link", name="Review and approve it").click()
    return flow.heading("Approve a new verification word")


def protocol_page(flow: Any) -> Any:
    flow.chart("admin")
    flow.app.get_by_role("link", name="Practice settings").click()
    flow.heading("Audit log")
    flow.app.get_by_role("link", name="Verification protocol").click()
    return flow.heading("Verification protocol")


def protocol_errors(flow: Any) -> Any:
    """An out-of-range value the browser's own check was bypassed for: the server explains."""
    frame = protocol_page(flow)
    frame.evaluate("() => document.getElementById('max_failures').removeAttribute('max')")
    flow.app.locator("#max_failures").fill("11")
    flow.app.get_by_role("button", name="Save the protocol").click()
    expect(flow.app.locator("#protocol-errors")).to_be_visible()
    return flow.frame()
