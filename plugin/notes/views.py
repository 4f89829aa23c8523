# SPDX-License-Identifier: Apache-2.0
"""Notes views: compose, lint, sign, process notes, vault records, deliveries."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ..authz import Permission
from ..errors import PluginError
from ..launch.guard import launch_required
from ..launch.store import LiveLaunch
from ..outbox.interfaces import OutboxItemNotFound
from ..outbox.services import Outbox
from ..registry import get_service
from ..vault.services import VaultService
from .forms import facts_from
from .forms import kept_from
from .forms import release_from
from .release import BASES
from .release import HARMS
from .release import SCOPES
from .services import NotesService

__all__ = ["bp", "editor_page"]

bp = Blueprint("notes", __name__, template_folder="templates")


def _today() -> Any:
    return datetime.now(UTC).date()


def editor_page(live: LiveLaunch, text: str, *, error: str | None = None, status: int = 200) -> Any:
    """The note editor holding ``text`` with its lint findings; the screening review's finish
    step opens it too, so the editor is rendered only here."""
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
    )


@bp.post("/l/<handle>/notes/draft")
@launch_required(Permission.NOTES_WRITE)
def draft(live: LiveLaunch) -> Any:
    text = get_service(NotesService).draft(facts_from(request.form, _today())).text
    return editor_page(live, text)


@bp.post("/l/<handle>/notes/check")
@launch_required(Permission.NOTES_WRITE)
def check(live: LiveLaunch) -> Any:
    return editor_page(live, request.form.get("text", ""))


@bp.post("/l/<handle>/notes/sign")
@launch_required(Permission.NOTES_WRITE)
def sign(live: LiveLaunch) -> Any:
    text = request.form.get("text", "")
    try:
        release = release_from(request.form, _today())
        get_service(NotesService).sign(
            live, text=text, kept=kept_from(request.form), release=release
        )
    except PluginError as exc:
        # Nothing is lost: the clinician's text and choices come back with the message.
        return editor_page(live, text, error=exc.description, status=exc.status_code)
    return redirect(url_for("notes.index", handle=live.handle, signed="1"), code=303)


@bp.post("/l/<handle>/notes/process")
@launch_required(Permission.NOTES_WRITE)
def process_note(live: LiveLaunch) -> Response:
    get_service(NotesService).save_process_note(live, request.form.get("text", ""))
    return redirect(url_for("notes.index", handle=live.handle), code=303)


@bp.route("/l/<handle>/notes/records/<record_id>", methods=["GET", "POST"])
@launch_required(Permission.VAULT_READ)
def record(live: LiveLaunch, record_id: str) -> Any:
    reason = None
    if request.method == "POST":
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
        body = render_template("notes/break_glass.html", live=live, record_id=record_id, error=exc)
        return body, 403
    return render_template("notes/record.html", live=live, record_id=record_id, content=content)


@bp.post("/l/<handle>/notes/records/<record_id>/destroy")
@launch_required(Permission.NOTES_WRITE)
def destroy(live: LiveLaunch, record_id: str) -> Response:
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
    """Put a delivery for the client in context back in the queue (404 for anyone else's)."""
    context = live.context
    outbox = get_service(Outbox)
    subject = get_service(VaultService).pseudonym(context.tenant, context.patient or "")
    if not context.patient or outbox.get(context.tenant, item_id).patient_pseudonym != subject:
        raise OutboxItemNotFound
    outbox.retry(item_id, tenant=context.tenant)
    return redirect(url_for("notes.index", handle=live.handle), code=303)
