# SPDX-License-Identifier: Apache-2.0
"""Screening, risk review, safety plan, handouts; finishing drafts the minimal note."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ..authz import Permission
from ..content import ANSWER_CHOICES
from ..content import CONTENT_VERSION
from ..content import DANGEROUS_TIMES
from ..content import EDUCATION_PROMPTS
from ..content import FREQUENCIES
from ..content import HOTLINES
from ..content import IF_THEN_EXAMPLES
from ..content import PRINT_SAFETY_QUESTION
from ..content import QUESTIONNAIRES
from ..content import RECENCIES
from ..content import RISK_DOMAINS
from ..content import SAFETY_PLAN
from ..content import SPJ_LABEL
from ..content import canonical_url
from ..content import handout
from ..content import prompts_for
from ..content.fhir import questionnaire_json
from ..content.model import HandoutKind
from ..launch.guard import launch_required
from ..launch.store import LiveLaunch
from ..notes.services import NotesService
from ..notes.views import editor_page
from ..registry import get_service
from .services import ReviewService

__all__ = ["bp"]

bp = Blueprint("screening", __name__, template_folder="templates")


def _common(live: LiveLaunch, review_id: str | None = None) -> dict[str, Any]:
    return {
        "live": live,
        "review_id": review_id,
        "content_version": CONTENT_VERSION,
        "answers_choices": ANSWER_CHOICES,
        "frequencies": FREQUENCIES,
        "recencies": RECENCIES,
        "spj_label": SPJ_LABEL,
    }


def _after_save(
    live: LiveLaunch, review_id: str, errors: dict[str, str], step: str, nxt: str
) -> Any:
    if errors:
        return step_page(live, review_id, step, status=400)
    if request.form.get("action") == "next":
        return redirect(
            url_for(f"screening.{nxt}", handle=live.handle, review_id=review_id), code=303
        )
    return redirect(
        url_for(f"screening.{step}", handle=live.handle, review_id=review_id, saved=1), code=303
    )


def step_page(live: LiveLaunch, review_id: str, step: str, *, status: int = 200) -> Any:
    service = get_service(ReviewService)
    draft = service.open(live, review_id)
    context = _common(live, review_id) | {"draft": draft, "saved": request.args.get("saved")}
    if step == "screen":
        context["sections"] = service.sections(live.context.tenant)
    elif step == "risk":
        premarks = service.premarks(draft.get("answers", {}))
        marked = {
            k.removesuffix(".mark") for k, v in draft.get("risk", {}).items() if v == "present"
        }
        marked |= {f for f in premarks if f"{f}.mark" not in draft.get("risk", {})}
        context |= {
            "domains": RISK_DOMAINS,
            "times": DANGEROUS_TIMES,
            "premarks": premarks,
            "prompts": prompts_for(marked, draft.get("risk", {}).get("concern")),
            "escalation": service.escalation(live, draft),
        }
    elif step == "plan":
        context |= {
            "plan": SAFETY_PLAN,
            "if_then": IF_THEN_EXAMPLES,
            "contacts": service.ehr_contacts(live),
        }
    else:
        context |= {
            "education": EDUCATION_PROMPTS,
            "print_question": PRINT_SAFETY_QUESTION,
            "hotlines": HOTLINES,
        }
    return render_template(f"screening/{step}.html", **context), status


@bp.get("/content/Questionnaire")
def questionnaires() -> Response:
    """Every Questionnaire the forms are rendered from, as a FHIR Bundle (no PHI, public)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": canonical_url(qid), "resource": questionnaire_json(qid)}
            for qid in QUESTIONNAIRES
        ],
    }
    return _fhir_json(bundle)


@bp.get("/content/Questionnaire/<questionnaire_id>")
def questionnaire(questionnaire_id: str) -> Response:
    if questionnaire_id not in QUESTIONNAIRES:
        abort(404)
    return _fhir_json(questionnaire_json(questionnaire_id))


def _fhir_json(data: object) -> Response:
    response = current_app.response_class(json.dumps(data), mimetype="application/fhir+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _kind(kind: str) -> HandoutKind:
    if kind not in {"plain", "discreet"}:
        abort(404)
    return "plain" if kind == "plain" else "discreet"


@bp.get("/content/handout/<kind>")
def public_handout(kind: str) -> str:
    """The handouts hold no client data, so they open outside a launch (a new tab to print)."""
    return render_template(
        "screening/handout.html",
        handout=handout(_kind(kind)),
        kind=kind,
        live=None,
        back=None,
    )


@bp.get("/l/<handle>/review/")
@launch_required(Permission.SCREENING_WRITE)
def index(live: LiveLaunch) -> str:
    service = get_service(ReviewService)
    return render_template(
        "screening/index.html",
        history=service.previous(live),
        drafts=service.drafts(live),
        **_common(live),
    )


@bp.post("/l/<handle>/review/start")
@launch_required(Permission.SCREENING_WRITE)
def start(live: LiveLaunch) -> Response:
    review_id = get_service(ReviewService).start(live)
    return redirect(url_for("screening.screen", handle=live.handle, review_id=review_id), code=303)


@bp.route("/l/<handle>/review/<review_id>/screening", methods=["GET", "POST"])
@launch_required(Permission.SCREENING_WRITE)
def screen(live: LiveLaunch, review_id: str) -> Any:
    if request.method == "GET":
        return step_page(live, review_id, "screen")
    checked = get_service(ReviewService).save_screening(live, review_id, request.form)
    return _after_save(live, review_id, checked.errors, "screen", "risk")


@bp.route("/l/<handle>/review/<review_id>/risk", methods=["GET", "POST"])
@launch_required(Permission.RISK_WRITE)
def risk(live: LiveLaunch, review_id: str) -> Any:
    if request.method == "GET":
        return step_page(live, review_id, "risk")
    checked = get_service(ReviewService).save_risk(live, review_id, request.form)
    return _after_save(live, review_id, checked.errors, "risk", "plan")


@bp.route("/l/<handle>/review/<review_id>/plan", methods=["GET", "POST"])
@launch_required(Permission.SCREENING_WRITE)
def plan(live: LiveLaunch, review_id: str) -> Any:
    if request.method == "GET":
        return step_page(live, review_id, "plan")
    service = get_service(ReviewService)
    flags = [key.removeprefix("flag:") for key in request.form if key.startswith("flag:")]
    form = {k: v for k, v in request.form.items() if not k.startswith("flag:")}
    checked = service.save_plan(live, review_id, form)
    service.flag_contacts(live, review_id, flags)
    return _after_save(live, review_id, checked.errors, "plan", "wrap_up")


@bp.get("/l/<handle>/review/<review_id>/wrap-up")
@launch_required(Permission.SCREENING_WRITE)
def wrap_up(live: LiveLaunch, review_id: str) -> Any:
    return step_page(live, review_id, "wrap_up")


@bp.get("/l/<handle>/review/<review_id>/handout/<kind>")
@launch_required(Permission.SCREENING_WRITE)
def print_handout(live: LiveLaunch, review_id: str, kind: str) -> str:
    chosen = _kind(kind)
    get_service(ReviewService).open(live, review_id)  # the review must be this client's
    back = url_for("screening.wrap_up", handle=live.handle, review_id=review_id)
    return render_template(
        "screening/handout.html",
        handout=handout(chosen),
        kind=kind,
        live=live,
        back=back,
    )


@bp.post("/l/<handle>/review/<review_id>/finish")
@launch_required(Permission.SCREENING_WRITE)
def finish(live: LiveLaunch, review_id: str) -> Any:
    facts = get_service(ReviewService).finish(live, review_id)
    return editor_page(live, get_service(NotesService).draft(facts).text)
