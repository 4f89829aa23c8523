# SPDX-License-Identifier: Apache-2.0
"""The admin audit page: filter and page through the log, and verify the chain."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request

from ..audit.verify import VerifyReport
from ..authz import Permission
from ..launch.guard import launch_required
from ..launch.sessions import browser_binding
from ..launch.store import LiveLaunch
from ..registry import get_service
from ..security import csrf_token
from ..security import verify_csrf
from .services import ACTIONS
from .services import AuditAdmin
from .services import AuditFilters

__all__ = ["AUDIT_PERMISSION", "bp"]

bp = Blueprint("admin", __name__, template_folder="templates")

AUDIT_PERMISSION = Permission.AUDIT_READ
"""Becomes ``Permission.AUDIT_READ`` once authz has it (admin role only)."""
_CSRF_PURPOSE = "audit-verify"


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
    secret = current_app.config["PLUGIN_SECRET_KEY"]
    return render_template(
        "admin/audit.html",
        live=live,
        filters=filters,
        errors=errors,
        result=result,
        report=report,
        actions=ACTIONS,
        outcomes=("success", "failure", "denied"),
        csrf=csrf_token(secret, browser_binding() or "", _CSRF_PURPOSE),
    )


@bp.get("/l/<handle>/admin/audit")
@launch_required(AUDIT_PERMISSION)
def audit(live: LiveLaunch) -> str:
    filters, errors = AuditFilters.from_args(request.args)
    return _render(live, filters, errors, _page_number(request.args.get("page")), None)


@bp.post("/l/<handle>/admin/audit/verify")
@launch_required(AUDIT_PERMISSION)
def verify(live: LiveLaunch) -> str:
    verify_csrf(
        current_app.config["PLUGIN_SECRET_KEY"],
        browser_binding(),
        _CSRF_PURPOSE,
        request.form.get("csrf"),
    )
    actor = live.context.fhir_user or f"launch:{live.handle[:8]}"
    report = get_service(AuditAdmin).verify(live.context.tenant, actor)
    return _render(live, AuditFilters(), [], 1, report)
