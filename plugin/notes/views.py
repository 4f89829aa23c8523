# SPDX-License-Identifier: Apache-2.0
"""Notes views: compose, lint, sign, process notes, vault records, deliveries."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ..authz import Permission
from ..errors import PluginError
from ..launch.guard import launch_required
from ..launch.sessions import browser_binding
from ..launch.store import LiveLaunch
from ..outbox.services import Outbox
from ..registry import get_service
from ..security import csrf_token
from ..security import verify_csrf
from ..vault.services import VaultService
from .forms import facts_from
from .forms import kept_from
from .forms import release_from
from .release import BASES
from .release import HARMS
from .release import SCOPES
from .services import NotesService

__all__ = ["bp"]

bp = Blueprint("notes", __name__, template_folder="templates")


def _csrf() -> str:
    return csrf_token(current_app.config["PLUGIN_SECRET_KEY"], browser_binding() or "", "notes")


def _check_csrf() -> None:
    verify_csrf(
        current_app.config["PLUGIN_SECRET_KEY"],
        browser_binding(),
        "notes",
        request.form.get("csrf"),
    )


def _today() -> Any:
    return datetime.now(UTC).date()


def _editor(live: LiveLaunch, text: str, *, error: str | None = None, status: int = 200) -> Any:
    draft = get_service(NotesService).check(text)
    body = render_template(
        "notes/editor.html",
        live=live,
        draft=draft,
        kept=kept_from(request.form),
        form=request.form,
        error=error,
        bases=BASES,
        harms=HARMS,
        scopes=SCOPES,
        csrf=_csrf(),
    )
    return body, status


@bp.get("/l/<handle>/notes/")
@launch_required(Permission.NOTES_WRITE)
def index(live: LiveLaunch) -> str:
    vault = get_service(VaultService)
    context = live.context
    records = (
        vault.summaries(tenant=context.tenant, patient_id=context.patient)
        if context.patient
        else []
    )
    subject = vault.pseudonym(context.tenant, context.patient) if context.patient else None
    deliveries = (
        get_service(Outbox).list_for(context.tenant, patient_pseudonym=subject) if subject else []
    )
    notices = vault.notices.take_notices(
        context.tenant, context.fhir_user_reference or "", kinds=("break-glass",)
    )
    return render_template(
        "notes/index.html",
        live=live,
        records=records,
        deliveries=deliveries,
        notices=notices,
        signed=request.args.get("signed"),
        csrf=_csrf(),
    )


@bp.post("/l/<handle>/notes/draft")
@launch_required(Permission.NOTES_WRITE)
def draft(live: LiveLaunch) -> Any:
    _check_csrf()
    text = get_service(NotesService).draft(facts_from(request.form, _today())).text
    return _editor(live, text)


@bp.post("/l/<handle>/notes/check")
@launch_required(Permission.NOTES_WRITE)
def check(live: LiveLaunch) -> Any:
    _check_csrf()
    return _editor(live, request.form.get("text", ""))


@bp.post("/l/<handle>/notes/sign")
@launch_required(Permission.NOTES_WRITE)
def sign(live: LiveLaunch) -> Any:
    _check_csrf()
    text = request.form.get("text", "")
    try:
        release = release_from(request.form, _today())
        get_service(NotesService).sign(
            live, text=text, kept=kept_from(request.form), release=release
        )
    except PluginError as exc:
        # Nothing is lost: the clinician's text and choices come back with the message.
        return _editor(live, text, error=exc.description, status=exc.status_code)
    return redirect(url_for("notes.index", handle=live.handle, signed="1"), code=303)


@bp.post("/l/<handle>/notes/process")
@launch_required(Permission.NOTES_WRITE)
def process_note(live: LiveLaunch) -> Response:
    _check_csrf()
    get_service(NotesService).save_process_note(live, request.form.get("text", ""))
    return redirect(url_for("notes.index", handle=live.handle), code=303)


@bp.route("/l/<handle>/notes/records/<record_id>", methods=["GET", "POST"])
@launch_required(Permission.NOTES_WRITE)
def record(live: LiveLaunch, record_id: str) -> Any:
    reason = None
    if request.method == "POST":
        _check_csrf()
        reason = request.form.get("reason", "")
    context = live.context
    if context.patient is None:
        raise PluginError("Open a client's chart first.")
    vault = get_service(VaultService)
    try:
        content = vault.read(
            tenant=context.tenant,
            patient_id=context.patient,
            record_id=record_id,
            actor=context.fhir_user_reference or "",
            break_glass_reason=reason,
        )
    except PluginError as exc:
        if exc.status_code != 403:
            raise
        body = render_template(
            "notes/break_glass.html", live=live, record_id=record_id, csrf=_csrf(), error=exc
        )
        return body, 403
    return render_template(
        "notes/record.html", live=live, record_id=record_id, content=content, csrf=_csrf()
    )


@bp.post("/l/<handle>/notes/records/<record_id>/destroy")
@launch_required(Permission.NOTES_WRITE)
def destroy(live: LiveLaunch, record_id: str) -> Response:
    _check_csrf()
    context = live.context
    if context.patient is None:
        raise PluginError("Open a client's chart first.")
    get_service(VaultService).destroy(
        tenant=context.tenant,
        patient_id=context.patient,
        record_id=record_id,
        actor=context.fhir_user_reference or "",
    )
    return redirect(url_for("notes.index", handle=live.handle), code=303)


@bp.post("/l/<handle>/notes/deliveries/<item_id>/retry")
@launch_required(Permission.NOTES_WRITE)
def retry(live: LiveLaunch, item_id: str) -> Response:
    _check_csrf()
    get_service(Outbox).retry(item_id, tenant=live.context.tenant)
    return redirect(url_for("notes.index", handle=live.handle), code=303)
