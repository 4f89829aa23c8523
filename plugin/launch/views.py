# SPDX-License-Identifier: Apache-2.0
"""Launch views: parse, call :class:`LaunchService`, redirect or render."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from smart_launch.errors import IssuerNotAllowed
from smart_launch.keys import ClientKeys

from ..authz import Permission
from ..registry import get_service
from ..tenants.services import TenantView
from .errors import LaunchParametersMissing
from .guard import launch_required
from .services import LaunchService
from .services import asks_for_verification
from .sessions import browser_binding
from .sessions import ensure_browser_binding
from .store import LiveLaunch

__all__ = ["bp"]

bp = Blueprint("launch", __name__, template_folder="templates")

VERIFY_ENDPOINT = "codeword.index"
"""Where a launch whose ``appContext`` asks for verification lands, when that page exists."""


def _client_address() -> str:
    """The peer address (behind a proxy, the WSGI server's ProxyFix decides what this is)."""
    return request.remote_addr or "unknown"


def _redirect(url: str) -> Response:
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/launch")
def ehr_launch() -> Response:
    """EHR launch: ``iss`` is checked against the tenant allow-list before anything else."""
    iss = request.args.get("iss", "")
    launch = request.args.get("launch", "")
    if not iss or not launch:
        raise LaunchParametersMissing
    service = get_service(LaunchService)
    service.limiter.check(_client_address())
    url, tenant = service.begin_ehr(iss, launch, ensure_browser_binding())
    g.frame_origins = tenant.frame_origins
    return _redirect(url)


@bp.get("/")
@bp.get("/standalone")
def public_start() -> str:
    """Names no practice: a standalone sign-in starts from the practice's own link."""
    return render_template("launch/start.html")


@bp.get("/standalone/<tenant_id>")
def standalone_form(tenant_id: str) -> str:
    service = get_service(LaunchService)
    tenant = _tenant_or_404(service, tenant_id)
    ensure_browser_binding()  # the sign-in started from this page is bound to the browser
    # Chromium applies form-action to the redirect that follows the POST: allow this EHR's
    # authorization server, and nothing else.
    g.form_targets = (service.authorization_origin(tenant),)
    return render_template("launch/standalone.html", tenant=tenant)


@bp.post("/standalone/<tenant_id>")
def standalone_start(tenant_id: str) -> Response:
    service = get_service(LaunchService)
    tenant = _tenant_or_404(service, tenant_id)
    service.limiter.check(_client_address())
    url, _ = service.begin_standalone(tenant.id, browser_binding() or "")
    return _redirect(url)


@bp.post("/standalone")
def standalone_start_named() -> Response:
    """The same, with the practice's id in the form (links made before per-practice URLs)."""
    return standalone_start(request.form.get("tenant", ""))


def _tenant_or_404(service: LaunchService, tenant_id: str) -> TenantView:
    try:
        return service.tenants.by_id(tenant_id)
    except IssuerNotAllowed:
        abort(404)


@bp.get("/callback")
def callback() -> Response:
    """The registered ``redirect_uri``.  State is checked before any token request."""
    service = get_service(LaunchService)
    params = {
        key: request.args[key] for key in ("state", "code", "error", "iss") if key in request.args
    }
    handle, context, return_to = service.complete_launch(params, browser_binding() or "")
    if return_to is not None:
        return _redirect(return_to)
    # A launch from a verification link opens the verification screen; the appContext stays in
    # the sealed launch (the codeword views read it there), never in this URL.
    if asks_for_verification(context.app_context) and VERIFY_ENDPOINT in current_app.view_functions:
        return _redirect(url_for(VERIFY_ENDPOINT, handle=handle))
    return _redirect(url_for("home.index", handle=handle))


@bp.get("/l/<handle>/relaunch")
@launch_required(Permission.HOME_VIEW)
def relaunch(live: LiveLaunch) -> Response:
    """Sign in again before the EHR access ends; come back to the page named by ``next``."""
    service = get_service(LaunchService)
    service.limiter.check(_client_address())
    return _redirect(service.relaunch(live, ensure_browser_binding(), request.args.get("next", "")))


@bp.app_context_processor
def _session_notice() -> dict[str, object]:
    """``session_notice`` for base.html: minutes left and a relaunch link, or nothing."""
    live = getattr(g, "launch", None)
    if not isinstance(live, LiveLaunch):
        return {}
    minutes = LaunchService.session_minutes_left(live)
    if minutes is None:
        return {}
    link = url_for("launch.relaunch", handle=live.handle, next=request.path)
    return {"session_notice": {"minutes": minutes, "relaunch_url": link}}


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public keys for ``private_key_jwt`` (SMART: served with Cache-Control)."""
    keys = get_service(ClientKeys)
    response = jsonify(keys.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
