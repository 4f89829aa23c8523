# SPDX-License-Identifier: Apache-2.0
"""The admin pages: the audit log (filter, page, verify the chain) and the verification
protocol (which changes need the client's word, lockouts, alerts, resets, word rules)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ..audit.verify import VerifyReport
from ..authz import Permission
from ..codeword.forms import NUMBER_FIELDS
from ..codeword.forms import protocol_from
from ..codeword.interfaces import Action
from ..codeword.interfaces import AlertRecipient
from ..codeword.interfaces import VerificationPolicy
from ..codeword.policies import LIMITS
from ..codeword.policies import PolicyInvalid
from ..codeword.policies import PolicyStore
from ..launch.guard import launch_required
from ..launch.store import LiveLaunch
from ..registry import get_service
from ..store import Database
from .history import protocol_history
from .services import ACTIONS
from .services import AuditAdmin
from .services import AuditFilters

__all__ = ["AUDIT_PERMISSION", "bp"]

bp = Blueprint("admin", __name__, template_folder="templates")

AUDIT_PERMISSION = Permission.AUDIT_READ
"""Becomes ``Permission.AUDIT_READ`` once authz has it (admin role only)."""
_ALERT_LABELS = {
    AlertRecipient.CLINICIAN: "The treating clinician (in Quietline and in the EHR inbox)",
    AlertRecipient.ADMIN: "Practice administrators (in Quietline)",
}


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 9 else 1


def _render(
    live: LiveLaunch,
    filters: AuditFilters,
    errors: list[str],
    page: int,
    report: VerifyReport | None,
) -> str:
    result = get_service(AuditAdmin).page(live.context.tenant, filters, page)
    return render_template(
        "admin/audit.html",
        live=live,
        filters=filters,
        errors=errors,
        result=result,
        report=report,
        actions=ACTIONS,
        outcomes=("success", "failure", "denied"),
    )


@bp.get("/l/<handle>/admin/audit")
@launch_required(AUDIT_PERMISSION)
def audit(live: LiveLaunch) -> str:
    filters, errors = AuditFilters.from_args(request.args)
    return _render(live, filters, errors, _page_number(request.args.get("page")), None)


@bp.post("/l/<handle>/admin/audit/verify")
@launch_required(AUDIT_PERMISSION)
def verify(live: LiveLaunch) -> str:
    actor = live.context.fhir_user or f"launch:{live.handle[:8]}"
    report = get_service(AuditAdmin).verify(live.context.tenant, actor)
    return _render(live, AuditFilters(), [], 1, report)


def _form_values(protocol: VerificationPolicy) -> dict[str, Any]:
    """What the form shows: the admin's own entries after a refused POST, else ``protocol``."""
    if request.method == "POST":
        form = request.form
        return {
            "actions": set(form.getlist("actions")),
            "alert": set(form.getlist("alert")),
            "second_approval": form.get("second_approval") == "yes",
            "refused_words": form.get("refused_words", ""),
            **{name: form.get(name, "") for name in NUMBER_FIELDS},
        }
    return {
        "actions": {action.value for action in protocol.actions},
        "alert": {recipient.value for recipient in protocol.alert},
        "second_approval": protocol.second_approval,
        "refused_words": "\n".join(protocol.refused_words),
        **{name: str(getattr(protocol, name)) for name in NUMBER_FIELDS},
    }


def _protocol_page(
    live: LiveLaunch,
    protocol: VerificationPolicy,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    tenant = live.context.tenant
    saved = request.args.get("saved") if request.method == "GET" else None
    body = render_template(
        "admin/protocol.html",
        live=live,
        values=_form_values(protocol),
        history=protocol_history(get_service(Database), tenant),
        actions=tuple(Action),
        alerts=_ALERT_LABELS,
        numbers=NUMBER_FIELDS,
        limits=LIMITS,
        errors=errors or {},
        error=error,
        saved=saved,
    )
    return body, status


@bp.get("/l/<handle>/admin/protocol")
@launch_required(Permission.ADMIN_MANAGE)
def protocol(live: LiveLaunch) -> Any:
    return _protocol_page(live, get_service(PolicyStore).get(live.context.tenant))


@bp.post("/l/<handle>/admin/protocol")
@launch_required(Permission.ADMIN_MANAGE)
def save_protocol(live: LiveLaunch) -> Any:
    store = get_service(PolicyStore)
    tenant = live.context.tenant
    parsed, errors = protocol_from(request.form)
    if parsed is None:
        return _protocol_page(live, store.get(tenant), errors=errors, status=400)
    actor = live.context.fhir_user_reference or f"launch:{live.handle[:8]}"
    try:
        changed = store.save(tenant, parsed, actor=actor)
    except PolicyInvalid as exc:
        return _protocol_page(live, parsed, error=exc.description, status=400)
    return _saved(live, changed)


def _saved(live: LiveLaunch, changed: list[str]) -> Response:
    return redirect(
        url_for("admin.protocol", handle=live.handle, saved="1" if changed else "0"), code=303
    )
