# SPDX-License-Identifier: Apache-2.0
"""Screening, risk review, safety plan, handout and note, over real HTTP with the sandbox EHR."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import requests
from sqlalchemy import select

from plugin.content import CONTENT_VERSION
from plugin.content import RISK_DOMAINS
from plugin.content import SLII
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.services import TenantRegistration
from plugin.vault.models import VaultRecord
from smart_launch.sandbox.server import RunningSandbox
from tests.support.answers import BANNED
from tests.support.answers import FEAR_TEXT
from tests.support.answers import PLAN_TEXT
from tests.support.answers import SECRET_FEAR
from tests.support.answers import SECRET_PLAN
from tests.support.forms import csrf
from tests.support.forms import textarea
from tests.support.reader import ehr_documents
from tests.support.reader import reader_options
from tests.support.servers import Quietline
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url

FIRST, SECOND = SLII[0].items[0], SLII[1].items[0]
VIOLENCE = next(d for d in RISK_DOMAINS if d.key == "violence").factors[0]


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    return reader_options()


def _start(walker: Walker, sandbox: RunningSandbox, patient: str = "pat-1") -> tuple[str, str]:
    home = walker.get(ehr_launch_url(walker, sandbox.url, patient, "therapist"))
    assert home.status_code == 200
    base = home.url.rstrip("/")
    index = walker.get(f"{base}/review/")
    assert index.status_code == 200
    screening = walker.post(f"{base}/review/start", {"csrf": csrf(index.text)})
    assert screening.status_code == 200
    return base, screening.url


def _screening_form(page: str, **answers: str) -> dict[str, str]:
    return {"csrf": csrf(page), "content_version": CONTENT_VERSION, **answers}


def _review(
    walker: Walker, sandbox: RunningSandbox, answers: dict[str, str]
) -> tuple[str, str, requests.Response]:
    base, screen_url = _start(walker, sandbox)
    page = walker.get(screen_url)
    risk = walker.post(screen_url, _screening_form(page.text, action="next", **answers))
    assert risk.status_code == 200, risk.text[-800:]
    assert risk.url.endswith("/risk")
    return base, risk.url, risk


def test_full_review_feeds_a_minimal_note_without_answer_text(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    answers = {FIRST.link_id: "yes", f"{FIRST.link_id}.frequency": "weekly",
               f"{FIRST.link_id}.recency": "past-month", FEAR_TEXT.link_id: SECRET_FEAR}  # fmt: skip
    base, risk_url, risk = _review(walker, sandbox, answers)
    assert 'id="spj-label"' in risk.text
    assert "score" in risk.text.lower()
    form = {"csrf": csrf(risk.text), "content_version": CONTENT_VERSION, "action": "next",
            f"{VIOLENCE.id}.mark": "present", "concern": "moderate",
            "rationale": "Pattern is continuing"}  # fmt: skip
    plan = walker.post(risk_url, form)
    assert plan.status_code == 200, plan.text[-800:]
    wrap = walker.post(plan.url, {"csrf": csrf(plan.text), "content_version": CONTENT_VERSION,
                                  "action": "next", PLAN_TEXT.link_id: SECRET_PLAN})  # fmt: skip
    assert wrap.status_code == 200
    assert "Is it safe" in wrap.text or "safe for you" in wrap.text
    discreet_url = re.search(
        r'id="print-discreet" href="([^"]+)"|href="([^"]+)" id="print-discreet"', wrap.text
    )
    assert discreet_url is not None
    discreet = walker.get(quietline.url + (discreet_url.group(1) or discreet_url.group(2)))
    assert discreet.status_code == 200
    lowered = discreet.text.lower()
    assert all(word not in lowered for word in BANNED), lowered
    assert "988" in discreet.text

    editor = walker.post(f"{wrap.url.rsplit('/', 1)[0]}/finish", {"csrf": csrf(wrap.text)})
    assert editor.status_code == 200
    note = textarea(editor.text, "note-text")
    assert "Safety screening completed" in note
    assert "moderate" in note
    signed = walker.post(
        f"{base}/notes/sign", {"csrf": csrf(editor.text), "text": note, "release": "release"}
    )
    assert 'id="signed-notice"' in signed.text
    assert get_service(OutboxWorker, quietline.app).run_once() == 1

    found = ehr_documents(sandbox, {"subject": "Patient/pat-1"})
    sent = base64.b64decode(found[0]["content"][0]["attachment"]["data"]).decode()
    assert sent == note.strip()
    for secret in (SECRET_FEAR, SECRET_PLAN, FIRST.text, "Pattern is continuing"):
        assert secret not in str(found)


def test_second_visit_shows_escalation(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _base, risk_url, risk = _review(
        walker, sandbox, {FIRST.link_id: "yes", f"{FIRST.link_id}.frequency": "monthly"}
    )
    assert 'id="escalation"' not in risk.text
    walker.post(
        risk_url, {"csrf": csrf(risk.text), "content_version": CONTENT_VERSION, "concern": "low"}
    )
    wrap_url = risk_url.rsplit("/", 1)[0] + "/wrap-up"
    wrap = walker.get(wrap_url)
    walker.post(wrap_url.rsplit("/", 1)[0] + "/finish", {"csrf": csrf(wrap.text)})

    _, _risk_url2, risk2 = _review(
        walker, sandbox,
        {FIRST.link_id: "yes", f"{FIRST.link_id}.frequency": "daily", SECOND.link_id: "yes"},
    )  # fmt: skip
    assert 'id="escalation"' in risk2.text
    assert "This may be escalating" in risk2.text
    assert SECOND.text in risk2.text  # a new tactic
    assert "More frequent" in risk2.text


def test_bad_input_keeps_the_draft_and_explains_each_field(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _, screen_url = _start(walker, sandbox)
    page = walker.get(screen_url)
    form = _screening_form(page.text, action="save")
    form.update({FIRST.link_id: "maybe", "made.up.item": "yes", FEAR_TEXT.link_id: "x" * 5000,
                 SECOND.link_id: "yes"})  # fmt: skip
    form["content_version"] = "1999.01.0"
    answer = walker.post(screen_url, form)
    assert answer.status_code == 400
    assert 'id="form-errors"' in answer.text
    assert "updated since this page was opened" in answer.text
    assert "not a question in this version" in answer.text
    assert f'id="err-{FIRST.link_id}"' in answer.text
    assert f'id="err-{FEAR_TEXT.link_id}"' in answer.text
    again = walker.get(screen_url)
    assert f'id="{SECOND.link_id}-yes" name="{SECOND.link_id}" value="yes" checked' in again.text
    assert "x" * 100 in textarea(again.text, FEAR_TEXT.link_id)  # nothing lost


def test_a_review_cannot_be_saved_to_another_client(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _, screen_url = _start(walker, sandbox, "pat-1")
    review_id = screen_url.rstrip("/").split("/")[-2]
    other = walker.get(ehr_launch_url(walker, sandbox.url, "pat-2", "therapist"))
    other_base = other.url.rstrip("/")
    page = walker.get(f"{other_base}/review/")
    hijack = walker.post(
        f"{other_base}/review/{review_id}/screening",
        _screening_form(page.text, action="save", **{FIRST.link_id: "yes"}),
    )
    assert hijack.status_code == 404


def test_flagged_ehr_contact_reaches_the_admin_without_a_reason(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _, screen_url = _start(walker, sandbox, "pat-3")
    plan_url = screen_url.rsplit("/", 1)[0] + "/plan"
    plan = walker.get(plan_url)
    assert 'id="ehr-contacts"' in plan.text
    assert "Drew Vance (Portal proxy)" in plan.text
    saved = walker.post(
        plan_url,
        {"csrf": csrf(plan.text), "content_version": CONTENT_VERSION, "action": "save",
         "flag:related-rp-3-proxy": "yes"},
    )  # fmt: skip
    assert saved.status_code == 200
    assert (
        'id="flag-related-rp-3-proxy" name="flag:related-rp-3-proxy" value="yes" checked'
        in saved.text
    )

    admin = Walker()
    home = admin.get(ehr_launch_url(admin, sandbox.url, "pat-3", "admin"))
    assert 'id="contact-review"' in home.text
    lowered = home.text.lower()
    assert all(word not in lowered for word in BANNED)
    other_client = Walker().get(ehr_launch_url(Walker(), sandbox.url, "pat-1", "admin"))
    assert 'id="contact-review"' not in other_client.text
    front = Walker()
    desk = front.get(ehr_launch_url(front, sandbox.url, "pat-3", "frontdesk"))
    assert 'id="contact-review"' not in desk.text


def test_questionnaires_are_served_and_the_review_stays_out_of_the_ehr(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    bundle = requests.get(f"{quietline.url}/content/Questionnaire", timeout=10)
    assert bundle.status_code == 200
    assert bundle.headers["Content-Type"].startswith("application/fhir+json")
    ids = [entry["resource"]["id"] for entry in bundle.json()["entry"]]
    assert ids == ["opening", "slii-screening", "fear", "hark"]
    one = requests.get(f"{quietline.url}/content/Questionnaire/slii-screening", timeout=10).json()
    assert one["version"] == CONTENT_VERSION
    assert (
        requests.get(f"{quietline.url}/content/Questionnaire/nope", timeout=10).status_code == 404
    )

    _, risk_url, _ = _review(walker, sandbox, {FIRST.link_id: "yes"})
    wrap_url = risk_url.rsplit("/", 1)[0] + "/wrap-up"
    wrap = walker.get(wrap_url)
    editor = walker.post(wrap_url.rsplit("/", 1)[0] + "/finish", {"csrf": csrf(wrap.text)})
    assert editor.status_code == 200
    with get_service(Database, quietline.app).session() as session:
        kinds = sorted(session.scalars(select(VaultRecord.record_type)))
    assert "screening" in kinds
    assert "risk-review" in kinds
    posted = [
        r.path
        for r in sandbox.request_log
        if r.method in {"POST", "PUT"} and r.path.startswith("/fhir")
    ]
    assert not any("QuestionnaireResponse" in p or "RiskAssessment" in p for p in posted)


def test_hark_is_offered_only_when_the_practice_enables_it(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _, screen_url = _start(walker, sandbox)
    assert 'data-section="hark"' not in walker.get(screen_url).text
    view = quietline.tenants.by_id("sandbox")
    quietline.tenants.register(
        TenantRegistration(
            id=view.id, name=view.name, iss=view.iss, client_id=view.client_id,
            auth_method=view.auth_method, scope=view.scope, frame_origins=view.frame_origins,
            role_mapping=view.role_mapping, options={"hark": True},
        )
    )  # fmt: skip
    page = walker.get(screen_url).text
    assert 'data-section="hark"' in page
    assert "76500-8" not in page  # codes live in the Questionnaire, not on screen


def test_handouts_open_outside_a_launch_and_drafts_can_be_resumed(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    card = requests.get(f"{quietline.url}/content/handout/discreet", timeout=10)
    assert card.status_code == 200
    assert all(word not in card.text.lower() for word in BANNED)
    assert 'id="print-now"' in card.text
    assert requests.get(f"{quietline.url}/content/handout/other", timeout=10).status_code == 404
    base, screen_url = _start(walker, sandbox)
    index = walker.get(f"{base}/review/")
    assert 'id="drafts"' in index.text
    review_id = screen_url.rstrip("/").split("/")[-2]
    assert f"/review/{review_id}/screening" in index.text
