# SPDX-License-Identifier: Apache-2.0
"""Home views: the patient banner, "For your attention" and the capabilities."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from werkzeug.wrappers import Response

from smart_launch.scopes import ScopeSet

from ..authz import Permission
from ..authz import has_permission
from ..capabilities import evaluate
from ..codeword.alerts import ADMIN_RECIPIENT
from ..codeword.services import CodewordService
from ..launch.guard import launch_required
from ..launch.services import LaunchService
from ..launch.store import LiveLaunch
from ..outbox.interfaces import OutboxItemNotFound
from ..outbox.services import Outbox
from ..registry import get_service
from ..store import Database
from ..vault.services import VaultService
from .attention import AttentionItem
from .attention import delivery_attention
from .attention import take_attention

__all__ = ["bp"]

bp = Blueprint("home", __name__, template_folder="templates")


def _attention(live: LiveLaunch) -> list[AttentionItem]:
    context = live.context
    recipients = [context.fhir_user_reference or ""]
    if has_permission(live.roles, Permission.ADMIN_MANAGE):
        recipients.append(ADMIN_RECIPIENT)
    subject = (
        get_service(VaultService).pseudonym(context.tenant, context.patient)
        if context.patient
        else None
    )
    deliveries = delivery_attention(
        get_service(Outbox), context.tenant, context.fhir_user_reference, subject=subject
    )
    notices = take_attention(get_service(Database), context.tenant, recipients, subject=subject)
    return deliveries + notices


def _approval_waiting(live: LiveLaunch) -> bool:
    """A new verification word for the client in context waits for this user's approval."""
    context = live.context
    if context.patient is None or not any(
        has_permission(live.roles, p) for p in (Permission.CODEWORD_ENROLL, Permission.ADMIN_MANAGE)
    ):
        return False
    state = get_service(CodewordService).status(context.tenant, context.patient)
    return state.pending_reset and state.pending_by != context.fhir_user_reference


@bp.get("/l/<handle>/")
@launch_required(Permission.HOME_VIEW)
def index(live: LiveLaunch) -> str:
    service = get_service(LaunchService)
    banner = service.patient_banner(live) if live.context.need_patient_banner else None
    capabilities = evaluate(
        live.roles, ScopeSet(live.context.scopes), has_patient=live.context.patient is not None
    )
    reviews_needed = (
        get_service(VaultService).notices.role_notices(
            tenant=live.context.tenant, role="admin", patient_id=live.context.patient
        )
        if has_permission(live.roles, Permission.ADMIN_MANAGE) and live.context.patient
        else []
    )
    return render_template(
        "home/index.html",
        live=live,
        reviews_needed=reviews_needed,
        attention=_attention(live),
        approval_waiting=_approval_waiting(live),
        banner=banner,
        banner_requested=live.context.need_patient_banner,
        capabilities=capabilities,
    )


@bp.post("/l/<handle>/deliveries/<item_id>/retry")
@launch_required(Permission.HOME_VIEW)
def retry_delivery(live: LiveLaunch, item_id: str) -> Response:
    """Put a delivery the user queued for the client in context back in the queue (from "For
    your attention"); anyone else's answers 404."""
    context = live.context
    outbox = get_service(Outbox)
    subject = get_service(VaultService).pseudonym(context.tenant, context.patient or "")
    if not context.patient or outbox.get(context.tenant, item_id).patient_pseudonym != subject:
        raise OutboxItemNotFound
    outbox.retry(item_id, tenant=context.tenant, created_by=context.fhir_user_reference or "")
    return redirect(url_for("home.index", handle=live.handle), code=303)


@bp.post("/l/<handle>/end")
@launch_required(Permission.HOME_VIEW)
def end(live: LiveLaunch) -> str:
    get_service(LaunchService).end(live.handle)
    # Rendered here rather than redirected to /ended: this response still carries the ended
    # launch's frame-ancestors, so it shows inside the EHR's iframe (public pages cannot).
    return render_template("home/ended.html")


@bp.get("/ended")
def ended() -> str:
    return render_template("home/ended.html")
