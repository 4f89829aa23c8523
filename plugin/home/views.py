# SPDX-License-Identifier: Apache-2.0
"""Home views."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from smart_launch.scopes import ScopeSet

from ..authz import Permission
from ..capabilities import evaluate
from ..launch.guard import launch_required
from ..launch.services import LaunchService
from ..launch.sessions import browser_binding
from ..launch.store import LiveLaunch
from ..registry import get_service
from ..security import csrf_token
from ..security import verify_csrf
from ..vault.services import VaultService

__all__ = ["bp"]

bp = Blueprint("home", __name__, template_folder="templates")


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
        if "admin" in live.roles and live.context.patient
        else []
    )
    return render_template(
        "home/index.html",
        live=live,
        reviews_needed=reviews_needed,
        banner=banner,
        banner_requested=live.context.need_patient_banner,
        capabilities=capabilities,
        csrf=csrf_token(current_app.config["PLUGIN_SECRET_KEY"], browser_binding() or "", "end"),
    )


@bp.post("/l/<handle>/end")
@launch_required(Permission.HOME_VIEW)
def end(live: LiveLaunch) -> Response:
    verify_csrf(
        current_app.config["PLUGIN_SECRET_KEY"], browser_binding(), "end", request.form.get("csrf")
    )
    get_service(LaunchService).end(live.handle)
    return redirect(url_for("home.ended"), code=303)


@bp.get("/ended")
def ended() -> str:
    return render_template("home/ended.html")
