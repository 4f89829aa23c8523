# SPDX-License-Identifier: Apache-2.0
"""WCAG 2.1 AA in a real browser: axe-core on every page of the flow, and the keyboard.

Every page is checked where a user sees it: Quietline's pages inside the sandbox EHR's
cross-site iframe (1024x768 window, third-party cookies blocked), the standalone form and the
EHR's own pages top-level.  A serious or critical axe-core violation fails the test; minor and
moderate ones are printed.  There is no allow-list.

To check a new page, add one ``Case`` to ``PAGES`` (and to ``KEYBOARD_PAGES`` for its Tab
order): a name and a function that drives ``Flow`` to the page and returns the frame (or page)
to check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from plugin.content import FEAR
from plugin.content import SLII
from plugin.demo import DEMO_ROLE_MAPPING
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.services import TenantRegistration
from smart_launch.sandbox.seed import USERS
from smart_launch.sandbox.server import RunningSandbox
from tests.e2e import codeword_pages as cw
from tests.e2e.axe import assert_accessible
from tests.e2e.axe import axe_version
from tests.e2e.axe import check
from tests.e2e.browser import csp_violations
from tests.e2e.browser import launch_handle
from tests.e2e.conftest import VIEWPORT
from tests.support.servers import Quietline
from tests.support.servers import map_admin_as_clinician
from tests.support.servers import register_sandbox_tenant
from tests.unit.plugin.audit.support import sql

pytestmark = pytest.mark.browser

FIRST, SECOND = SLII[0].items[0], SLII[1].items[0]
FEAR_TEXT = next(item for item in FEAR.items if item.kind == "text")
OVER_DOCUMENTED = " Client's ex, Marcus Webb, followed her to 41 Alder Lane on 3 March."
BREAK_GLASS_REASON = "Client in crisis; treating clinician unreachable"
PROCESS_NOTE = "Client described the argument in the car park in detail."


class Flow:
    """Drives the browser through the demo flow, the way a user does (clicks, forms)."""

    def __init__(self, page: Any, quietline: Quietline, sandbox: RunningSandbox) -> None:
        self.page = page
        self.quietline = quietline
        self.sandbox = sandbox

    # -- where things are

    @property
    def app(self) -> Any:
        """The Quietline iframe of the EHR chart, as a frame locator."""
        return self.page.frame_locator("#app-frame")

    def frame(self) -> Any:
        """The Quietline iframe of the EHR chart, as a ``Frame`` (for axe and ``goto``)."""
        frame = self.page.locator("#app-frame").element_handle().content_frame()
        assert frame is not None
        return frame

    def heading(self, text: str) -> Any:
        expect(self.app.locator("h1")).to_have_text(text)
        return self.frame()

    # -- the EHR launch and Quietline's pages in its iframe

    def chart(self, user: str = "therapist", patient: str = "pat-1") -> Any:
        self.page.goto(f"{self.sandbox.url}/ehr/launch?patient={patient}&user={user}")
        return self.heading("Quietline")

    def notes(self, user: str = "therapist") -> Any:
        self.chart(user)
        self.app.get_by_role("link", name="Minimal note").click()
        return self.heading("Notes")

    def editor(self) -> Any:
        self.notes()
        for label in ("Safety screening completed", "Structured risk review completed"):
            self.app.get_by_label(label, exact=True).check()
        self.app.get_by_label("Clinician's overall concern", exact=True).select_option("moderate")
        self.app.get_by_label("Follow-up", exact=True).select_option("next-session")
        self.app.get_by_role("button", name="Draft the note").click()
        return self.heading("Review the note")

    def editor_with_findings(self) -> Any:
        self.editor()
        box = self.app.get_by_label("Note for the EHR")
        box.fill(box.input_value() + OVER_DOCUMENTED)
        self.app.get_by_role("button", name="Check again").click()
        expect(self.app.locator("li.finding").first).to_be_visible()
        return self.frame()

    def editor_refused(self) -> Any:
        """Signing with findings neither removed nor kept: the editor with its error."""
        self.editor_with_findings()
        self.app.get_by_role("button", name="Sign and send to the EHR").click()
        expect(self.app.locator("#note-error")).to_be_visible()
        return self.frame()

    def signed(self) -> Any:
        self.editor()
        self.app.get_by_role("button", name="Sign and send to the EHR").click()
        expect(self.app.locator("#signed-notice")).to_be_visible()
        return self.frame()

    def process_note(self) -> str:
        """Save a process note as the therapist; return its record's URL."""
        self.notes()
        self.app.get_by_label("Process note", exact=True).fill(PROCESS_NOTE)
        self.app.get_by_role("button", name="Save process note").click()
        link = self.app.locator("tr[data-record] a").first
        expect(link).to_be_visible()
        return f"{self.quietline.url}{link.get_attribute('href')}"

    def record(self) -> Any:
        self.process_note()
        self.app.locator("tr[data-record] a").first.click()
        return self.heading("Encrypted record")

    def break_glass(self) -> Any:
        """A second clinician opens the therapist's process note: the break-glass page."""
        own = self.process_note()
        map_admin_as_clinician(self.quietline, self.sandbox)
        self.chart("admin")
        admin = launch_handle(self.frame().url)
        self.frame().goto(own.replace(f"/l/{launch_handle(own)}/", f"/l/{admin}/"))
        return self.heading("Restricted record")

    def break_glass_notice(self) -> Any:
        """The therapist's next visit to the notes after a break-glass: the notice."""
        self.break_glass()
        self.app.get_by_label("Reason for emergency access").fill(BREAK_GLASS_REASON)
        self.app.get_by_role("button", name="Open with emergency access").click()
        self.heading("Encrypted record")
        self.notes("therapist")
        expect(self.app.get_by_text("opened with break-glass")).to_be_visible()
        return self.frame()

    # -- screening, risk review, safety plan, education (issue 4)

    def review_index(self, patient: str = "pat-1") -> Any:
        self.chart(patient=patient)
        self.app.get_by_role("link", name="Safety screening and risk review").click()
        return self.heading("Safety screening and risk review")

    def screening(self, patient: str = "pat-1") -> Any:
        self.review_index(patient)
        self.app.get_by_role("button", name="Start a review").click()
        return self.heading("Screening")

    def answer(self, link_id: str, code: str) -> None:
        self.app.locator(f'input[type=radio][id="{link_id}-{code}"]').check()

    def screening_with_errors(self) -> Any:
        """A stale content version and an oversized answer: field-level messages, draft kept."""
        frame = self.screening()
        self.answer(FIRST.link_id, "yes")
        frame.evaluate(
            """([version, field]) => {
                document.querySelector('input[name=content_version]').value = version;
                document.getElementById(field).removeAttribute('maxlength');
            }""",
            ["1999.01.0", FEAR_TEXT.link_id],
        )
        self.app.locator(f'textarea[id="{FEAR_TEXT.link_id}"]').fill("x" * 5000)
        self.app.get_by_role("button", name="Save draft").click()
        expect(self.app.locator("#form-errors")).to_be_visible()
        expect(self.app.locator(f'[id="err-{FEAR_TEXT.link_id}"]')).to_be_visible()
        return self.frame()

    def risk_review(self, frequency: str = "monthly", *, second_tactic: bool = False) -> Any:
        self.screening()
        self.answer(FIRST.link_id, "yes")
        self.app.locator(f'select[id="{FIRST.link_id}-frequency"]').select_option(frequency)
        if second_tactic:
            self.answer(SECOND.link_id, "yes")
        self.app.get_by_role("button", name="Save and go to risk review").click()
        return self.heading("Risk review")

    def safety_plan(self) -> Any:
        self.risk_review()
        self.app.locator("#concern-moderate").check()
        self.app.get_by_label("Rationale").fill("Pattern is continuing")
        self.app.get_by_role("button", name="Save and go to safety planning").click()
        return self.heading("Safety planning")

    def wrap_up(self) -> Any:
        self.safety_plan()
        self.app.get_by_role("button", name="Save and continue").click()
        return self.heading("Education and finish")

    def handout(self, kind: str) -> Any:
        self.wrap_up()
        self.app.locator(f"#print-{kind}").click()
        expect(self.app.locator(f"body.handout.{kind}")).to_be_visible()
        return self.frame()

    def review_note(self) -> Any:
        """Finishing the review drafts the minimal note in the notes editor."""
        self.wrap_up()
        self.app.get_by_role("button", name="Finish the review and draft the note").click()
        return self.heading("Review the note")

    def escalation(self) -> Any:
        """The second review of a client whose behaviour got worse: the escalation view."""
        self.review_note()
        self.risk_review("daily", second_tactic=True)
        expect(self.app.locator("#escalation")).to_contain_text("This may be escalating")
        return self.frame()

    def safety_plan_contacts(self) -> Any:
        """A client whose record lists contacts and a portal proxy: the review of them."""
        self.screening("pat-3")
        self.app.get_by_role("link", name="Safety plan").click()
        self.heading("Safety planning")
        expect(self.app.locator("#ehr-contacts input[type=checkbox]").first).to_be_visible()
        return self.frame()

    # -- the admin's audit log

    def audit(self) -> Any:
        self.chart("admin")
        self.app.get_by_role("link", name="Practice settings").click()
        return self.heading("Audit log")

    def audit_verified(self) -> Any:
        self.audit()
        self.app.get_by_role("button", name="Verify chain").click()
        expect(self.app.locator('[data-verify="ok"]')).to_be_visible()
        return self.frame()

    def audit_tampered(self) -> Any:
        self.audit()
        database = get_service(Database, self.quietline.app)
        sql(database, "UPDATE audit_entries SET outcome = 'failure' WHERE seq = 1")
        self.app.get_by_role("button", name="Verify chain").click()
        expect(self.app.locator('[data-verify="problems"]')).to_be_visible()
        return self.frame()

    def audit_filter_error(self) -> Any:
        self.audit()
        self.frame().goto(f"{self.frame().url}?date_from=not-a-date")
        expect(self.app.locator(".notice[role=alert]")).to_be_visible()
        return self.frame()

    def role_not_mapped(self) -> Any:
        """An EHR user whose role codes the practice has not mapped: the denial page."""
        _register_with(self.quietline, self.sandbox, role_mapping={})
        self.page.goto(f"{self.sandbox.url}/ehr/launch?patient=pat-1&user=therapist")
        expect(self.app.locator("[data-error=role_not_mapped]")).to_be_visible()
        return self.frame()

    def delivery_needs_attention(self) -> Any:
        """A note signed just before the session ended, with no backend client to deliver it."""
        _register_with(self.quietline, self.sandbox, backend_on_launch_client=False)
        frame = self.signed()
        frame.goto(frame.url.split("/notes/")[0] + "/")  # home of the launch that queued it
        self.heading("Quietline")
        self.app.get_by_role("button", name="End Quietline session").click()
        self.heading("Session ended")
        get_service(OutboxWorker, self.quietline.app).run_once()
        self.chart()
        expect(self.app.get_by_role("button", name="Try again")).to_be_visible()
        return self.frame()

    def session_ended(self) -> Any:
        self.chart()
        self.app.get_by_role("button", name="End Quietline session").click()
        return self.heading("Session ended")

    def in_frame(self, path: str, error: str) -> Any:
        """A Quietline URL opened inside the chart's iframe: the error page ``error``."""
        self.chart()
        self.frame().goto(f"{self.quietline.url}{path}")
        expect(self.app.locator(f'.error-description[data-error="{error}"]')).to_be_visible()
        return self.frame()

    def top_level(self, path: str, error: str) -> Any:
        """A Quietline URL outside any launch, top level: public pages refuse to be framed."""
        self.page.goto(f"{self.quietline.url}{path}")
        expect(self.page.locator(f'.error-description[data-error="{error}"]')).to_be_visible()
        return self.page

    # -- top-level pages: the standalone launch and the EHR's own pages

    def start(self) -> Any:
        """The practice-free start page: names no practice."""
        self.page.goto(f"{self.quietline.url}/standalone")
        expect(self.page.get_by_role("heading", name="Quietline")).to_be_visible()
        return self.page

    def standalone(self) -> Any:
        self.page.goto(f"{self.quietline.url}/standalone/sandbox")
        expect(self.page.get_by_role("heading", name="Sign in through your EHR")).to_be_visible()
        return self.page

    def sandbox_login(self) -> Any:
        self.standalone()
        self.page.get_by_role("button", name="Continue to sign in").click()
        expect(self.page.get_by_role("heading", name="Sign in to allow quietline")).to_be_visible()
        return self.page

    def sandbox_picker(self) -> Any:
        self.sandbox_login()
        self.page.get_by_label(USERS["therapist"]).check()
        self.page.get_by_role("button", name="Sign in and continue").click()
        expect(
            self.page.get_by_role("heading", name="Choose a patient for quietline")
        ).to_be_visible()
        return self.page

    def standalone_home(self) -> Any:
        self.sandbox_picker()
        self.page.get_by_role("button", name="Allow access to this patient").click()
        expect(self.page.locator("#patient-name")).to_be_visible()
        return self.page

    def sandbox_index(self) -> Any:
        self.page.goto(f"{self.sandbox.url}/")
        expect(self.page.get_by_role("heading", name="Sandbox EHR")).to_be_visible()
        return self.page

    def sandbox_chart(self) -> Any:
        self.chart()
        return self.page

    def sandbox_error(self) -> Any:
        self.page.goto(f"{self.sandbox.url}/ehr/launch?patient=nobody&user=therapist")
        expect(self.page.get_by_role("heading", name="Request refused")).to_be_visible()
        return self.page


def _register_with(quietline: Quietline, sandbox: RunningSandbox, **changes: Any) -> None:
    """Register the sandbox tenant again with ``changes`` to its registration."""
    register_sandbox_tenant(quietline, sandbox)
    view = quietline.tenants.by_id("sandbox")
    fields: dict[str, Any] = {
        "id": view.id, "name": view.name, "iss": view.iss, "client_id": view.client_id,
        "auth_method": view.auth_method, "scope": view.scope,
        "frame_origins": view.frame_origins, "role_mapping": DEMO_ROLE_MAPPING,
        "options": view.options,
    }  # fmt: skip
    quietline.tenants.register(TenantRegistration(**{**fields, **changes}))


@pytest.fixture(autouse=True)
def _axe_installed() -> None:
    """Fail at once, before driving the browser, when ``npm ci`` has not been run."""
    axe_version()


@dataclass(frozen=True)
class Case:
    """One page to check: ``open`` drives the flow there and returns the frame or page."""

    name: str
    open: Callable[[Flow], Any]


UNKNOWN_ISS = "/launch?iss=https%3A%2F%2Fehr.invalid%2Ffhir&launch=abc123"
STALE_HANDLE = "/l/" + "x" * 32 + "/"

PAGES: tuple[Case, ...] = (
    # Quietline inside the EHR's iframe
    Case("home-therapist", lambda flow: flow.chart("therapist")),
    Case("home-front-desk", lambda flow: flow.chart("frontdesk")),
    Case("home-admin", lambda flow: flow.chart("admin")),
    Case("notes-index", Flow.notes),
    Case("notes-editor-drafted", Flow.editor),
    Case("notes-editor-with-findings", Flow.editor_with_findings),
    Case("notes-editor-sign-refused", Flow.editor_refused),
    Case("notes-signed", Flow.signed),
    Case("vault-record", Flow.record),
    Case("break-glass", Flow.break_glass),
    Case("notes-break-glass-notice", Flow.break_glass_notice),
    Case("review-index", Flow.review_index),
    Case("screening", Flow.screening),
    Case("screening-with-errors", Flow.screening_with_errors),
    Case("risk-review", Flow.risk_review),
    Case("risk-review-escalation", Flow.escalation),
    Case("safety-plan", Flow.safety_plan),
    Case("safety-plan-ehr-contacts", Flow.safety_plan_contacts),
    Case("wrap-up", Flow.wrap_up),
    Case("handout-plain", lambda flow: flow.handout("plain")),
    Case("handout-discreet", lambda flow: flow.handout("discreet")),
    Case("review-note-editor", Flow.review_note),
    Case("admin-audit", Flow.audit),
    Case("admin-audit-verified", Flow.audit_verified),
    Case("admin-audit-tampered", Flow.audit_tampered),
    Case("admin-audit-filter-error", Flow.audit_filter_error),
    Case("error-unknown-iss", lambda flow: flow.top_level(UNKNOWN_ISS, "issuer_not_allowed")),
    Case("error-session-expired", lambda flow: flow.in_frame(STALE_HANDLE, "session_expired")),
    Case("error-not-found", lambda flow: flow.top_level("/no-such-page", "http_404")),
    Case("session-ended", Flow.session_ended),
    Case("error-role-not-mapped", Flow.role_not_mapped),
    Case("home-delivery-needs-attention", Flow.delivery_needs_attention),
    Case("codeword-enroll", cw.enroll_page),
    Case("codeword-enroll-refused", cw.enroll_refused),
    Case("codeword-enrolled", cw.enrolled),
    Case("codeword-enroll-paused", cw.enroll_paused),
    Case("codeword-approve", cw.approve_page),
    Case("codeword-verify", cw.verify_page),
    Case("codeword-verify-wrong", cw.verify_wrong),
    Case("codeword-verify-paused", cw.verify_paused),
    Case("codeword-change-move", cw.change_page),
    Case("codeword-change-cancel", lambda flow: cw.change_page(flow, "Cancel")),
    Case("home-attention", cw.home_attention),
    Case("admin-protocol", cw.protocol_page),
    Case("admin-protocol-errors", cw.protocol_errors),
    # Top level: the standalone launch, and the sandbox EHR's own pages
    Case("standalone-start", Flow.start),
    Case("standalone-form", Flow.standalone),
    Case("standalone-home", Flow.standalone_home),
    Case("sandbox-index", Flow.sandbox_index),
    Case("sandbox-chart", Flow.sandbox_chart),
    Case("sandbox-login", Flow.sandbox_login),
    Case("sandbox-patient-picker", Flow.sandbox_picker),
    Case("sandbox-error", Flow.sandbox_error),
    Case("sandbox-schedule", lambda flow: flow.page.goto(f"{flow.sandbox.url}/ehr/schedule?user=frontdesk") and flow.page),
)  # fmt: skip


@pytest.mark.parametrize("case", PAGES, ids=[case.name for case in PAGES])
def test_page_has_no_serious_or_critical_axe_violations(
    case: Case, page: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    target = case.open(Flow(page, quietline, sandbox))
    assert page.viewport_size == VIEWPORT
    before = len(console)
    assert_accessible(target, case.name)
    # axe-core ran without tripping the page's CSP: the policy is served and enforced unchanged.
    assert csp_violations(console[before:]) == []


# -- the checker itself -------------------------------------------------------------------------

BROKEN = """<!doctype html><html><head><title>broken</title></head><body><main>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button></button><input type="text">
</main></body></html>"""


def test_checker_finds_known_violations_under_a_strict_csp(
    page: Any, console: list[str], quietline: Quietline
) -> None:
    """A page with known violations, behind Quietline's CSP: axe must load and report them."""

    def serve(route: Any) -> None:
        csp = "default-src 'self'; script-src 'self'; img-src 'self' data:"
        route.fulfill(
            status=200,
            body=BROKEN,
            headers={"Content-Type": "text/html", "Content-Security-Policy": csp},
        )

    url = f"{quietline.url}/__axe-self-test"
    page.route(url, serve)
    page.goto(url)
    found = {violation.rule: violation.impact for violation in check(page, context="self-test")}
    assert found.get("image-alt") == "critical"
    assert found.get("button-name") == "critical"
    assert found.get("label") == "critical"
    assert csp_violations(console) == []
    with pytest.raises(pytest.fail.Exception, match="button-name"):
        assert_accessible(page, "self-test")


# -- keyboard only --------------------------------------------------------------------------------

_TAG_CONTROLS = """
() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, '
    + '[tabindex]:not([tabindex="-1"])';
  const controls = [...document.querySelectorAll(selector)].filter(
    (el) => !el.disabled && el.getClientRects().length > 0);
  const keys = [];
  controls.forEach((el, i) => {
    const key = el.type === 'radio' ? `radio:${el.name}` : `${i}`;
    el.dataset.kbKey = key;
    if (!keys.includes(key)) keys.push(key);
  });
  return keys.map((key) => {
    const el = document.querySelector(`[data-kb-key="${key}"]`);
    const label = el.labels && el.labels.length ? el.labels[0].innerText : el.innerText;
    return { key, name: `<${el.tagName.toLowerCase()}> ${(label || el.name || '').trim()}` };
  });
}
"""

_DESCRIBE = """
(el) => {
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {
    key: el.dataset.kbKey || null,
    // Focus on a part inside the browser's own shadow DOM (a date input's calendar button)
    // leaves the input itself unfocused; that part has the browser's focus ring.
    ring: outline || style.boxShadow !== 'none' || !el.matches(':focus'),
    tag: el.tagName.toLowerCase(),
    text: ((el.labels && el.labels.length ? el.labels[0].innerText : el.innerText)
      || el.value || '').trim(),
  };
}
"""

_FOCUSED = f"""
() => {{
  if (!document.hasFocus()) return null;
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return ({_DESCRIBE})(el);
}}
"""

_RECORD_FOCUS = f"""
() => {{
  if (window.__focusLog) {{ window.__focusLog.length = 0; return; }}
  const describe = {_DESCRIBE};
  window.__focusLog = [];
  document.addEventListener('focusin', (event) => window.__focusLog.push(describe(event.target)));
  window.addEventListener('blur', () => window.__focusLog.push(null));
}}
"""


def focused(frame: Any) -> dict[str, Any] | None:
    """The element with keyboard focus in ``frame``'s document, or None."""
    result = frame.evaluate(_FOCUSED)
    return None if result is None else dict(result)


def tab_to(page: Any, frame: Any, text: str, *, limit: int = 60) -> dict[str, Any]:
    """Press Tab until the focused control in ``frame`` is labelled ``text``."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(frame)
        if now is not None and now["text"] == text:
            return now
        seen.append(now["text"] if now else "(outside the frame)")
    pytest.fail(f"Tab never reached {text!r} within {limit} presses; focus went {seen}")


def assert_tab_order(page: Any, frame: Any, context: str) -> None:
    """Tab reaches every control of the frame's page, once per pass, in document order."""
    expected = frame.evaluate(_TAG_CONTROLS)
    keys = [item["key"] for item in expected]
    assert keys, f"{context}: no control to reach with Tab"
    # Every focus stop in the frame is logged by a focusin listener, and every exit by blur.
    frame.evaluate(_RECORD_FOCUS)
    for _ in range(2 * len(keys) + 20):
        page.keyboard.press("Tab")
    log = frame.evaluate("() => window.__focusLog.slice()")
    visited: list[str | None] = []
    no_ring: set[str] = set()
    for now in log:
        # A focus stop that is not one of the controls found above shows up by its tag.
        visited.append(None if now is None else now["key"] or f"untagged <{now['tag']}>")
        if now is not None and not now["ring"]:
            no_ring.add(str(visited[-1]))
    # One full pass: from the first control (the skip link) to the focus leaving the frame.
    assert keys[0] in visited, f"{context}: Tab never reached {expected[0]['name']}"
    start = visited.index(keys[0])
    run: list[str] = []
    for key in visited[start:]:
        if key is None or (run and key == keys[0]):
            break
        if not run or run[-1] != key:  # a date input has a Tab stop per field (d, m, y)
            run.append(key)
    names = {item["key"]: item["name"] for item in expected}
    missing = [names[key] for key in keys if key not in run]
    assert missing == [], f"{context}: Tab does not reach {missing}"
    assert run == keys, f"{context}: Tab order {[names.get(k, k) for k in run]} != document order"
    # WCAG 2.4.7: each control shows where the focus is (an outline or a focus shadow).
    assert no_ring == set(), f"{context}: no visible focus on {[names.get(k, k) for k in no_ring]}"


# The home page, notes index and editor are covered by the keyboard-only notes test below.
KEYBOARD_PAGES: tuple[Case, ...] = (
    Case("vault-record", Flow.record),
    Case("break-glass", Flow.break_glass),
    Case("review-index", Flow.review_index),
    Case("screening", Flow.screening),
    Case("risk-review-escalation", Flow.escalation),
    Case("safety-plan-ehr-contacts", Flow.safety_plan_contacts),
    Case("wrap-up", Flow.wrap_up),
    Case("admin-audit-verified", Flow.audit_verified),
)


@pytest.mark.parametrize("case", KEYBOARD_PAGES, ids=[case.name for case in KEYBOARD_PAGES])
def test_tab_reaches_every_control_in_order_with_visible_focus(
    case: Case, page: Any, quietline: Quietline, sandbox: RunningSandbox
) -> None:
    target = case.open(Flow(page, quietline, sandbox))
    assert_tab_order(page, target, case.name)


def test_notes_flow_is_keyboard_operable(
    page: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    flow = Flow(page, quietline, sandbox)
    flow.chart()

    # From the EHR's chart into Quietline's iframe and on to the notes, by keyboard alone.
    tab_to(page, flow.frame(), "Skip to content")
    assert_tab_order(page, flow.frame(), "Quietline home")
    tab_to(page, flow.frame(), "Minimal note")
    page.keyboard.press("Enter")
    notes = flow.heading("Notes")
    assert_tab_order(page, notes, "notes index")

    for label in ("Safety screening completed", "Structured risk review completed"):
        tab_to(page, notes, label)
        page.keyboard.press("Space")
        expect(flow.app.get_by_label(label, exact=True)).to_be_checked()
    tab_to(page, notes, "Clinician's overall concern")
    for _ in range(2):
        page.keyboard.press("ArrowDown")
    expect(flow.app.get_by_label("Clinician's overall concern", exact=True)).to_have_value(
        "moderate"
    )
    tab_to(page, notes, "Follow-up")
    page.keyboard.press("ArrowDown")
    expect(flow.app.get_by_label("Follow-up", exact=True)).to_have_value("next-session")
    tab_to(page, notes, "Draft the note")
    page.keyboard.press("Enter")
    editor = flow.heading("Review the note")
    assert_tab_order(page, editor, "notes editor")

    # Add an over-documented sentence, check again, keep each finding with a reason.
    tab_to(page, editor, "Note for the EHR")
    page.keyboard.press("Control+End")
    page.keyboard.type(OVER_DOCUMENTED)
    tab_to(page, editor, "Check again")
    page.keyboard.press("Enter")
    expect(flow.app.locator("li.finding").first).to_be_visible()
    editor = flow.frame()
    assert_tab_order(page, editor, "notes editor with findings")
    findings = flow.app.locator("li.finding").count()
    assert findings >= 1
    tab_to(page, editor, "Note for the EHR")
    for _ in range(findings):
        tab_to(page, editor, "Keep it")
        page.keyboard.press("Space")
        tab_to(page, editor, "Reason for keeping")
        page.keyboard.type("Needed for the protective-order letter")
    tab_to(page, editor, "Sign and send to the EHR")
    page.keyboard.press("Space")
    expect(flow.app.locator("#signed-notice")).to_be_visible()
    assert_tab_order(page, flow.frame(), "notes index after signing")
    assert csp_violations(console) == []
