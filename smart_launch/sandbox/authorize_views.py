# SPDX-License-Identifier: Apache-2.0
"""The authorization and token endpoints, with the sandbox's sign-in and patient picker.

RFC 6749 section 4.1.2.1: "If the request fails due to a missing, invalid, or mismatching
redirection URI, or if the client identifier is missing or invalid, the authorization server
SHOULD inform the resource owner of the error and MUST NOT automatically redirect the
user-agent to the invalid redirection URI."  Every other refusal is redirected back with
``error`` and ``state``.  Token responses carry ``Cache-Control: no-store`` and
``Pragma: no-cache`` (RFC 6749 section 5.1; SMART App Launch 2.2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Blueprint
from flask import Response
from flask import redirect
from flask import render_template
from flask import request
from flask import session

from .chart import latest_encounter
from .chart import patient_summaries
from .csrf import csrf_ok
from .csrf import csrf_token
from .models import Subject
from .seed import USERS
from .state import SandboxState
from .state import get_state

if TYPE_CHECKING:
    from .config import ClientRegistration

__all__ = ["bp", "error_page"]

bp = Blueprint("sandbox_auth", __name__, url_prefix="/auth")

_OWN_FIELDS = frozenset({"action", "user", "patient", "csrf_token"})


def error_page(message: str, status: int = 400) -> tuple[str, int]:
    """An HTML error page (never a redirect)."""
    return render_template("sandbox/error.html", message=message), status


def _oauth_fields() -> list[tuple[str, str]]:
    return [
        (name, value)
        for name in request.values
        if name not in _OWN_FIELDS
        for value in request.values.getlist(name)
    ]


def _render(template: str, registration: ClientRegistration, **context: Any) -> str:
    scopes = (request.values.get("scope") or "").split()
    return render_template(
        template,
        client=registration,
        scopes=scopes,
        fields=_oauth_fields(),
        csrf_token=csrf_token(),
        users=USERS,
        **context,
    )


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    """The SMART authorization endpoint (EHR launch and standalone launch)."""
    state = get_state()
    registration = state.config.client(request.values.get("client_id"))
    if registration is None:
        return error_page("This app is not registered with the sandbox EHR.")
    redirect_uri = request.values.get("redirect_uri")
    if not redirect_uri or redirect_uri not in registration.redirect_uris:
        return error_page("The redirect URI is not registered for this app, so it was not used.")
    fault = state.config.faults.authorize_error
    if fault:
        params = [("error", fault)]
        if request.values.get("state"):
            params.append(("state", request.values["state"]))
        return redirect(add_params_to_uri(redirect_uri, params))
    server = state.authorization_server
    try:
        grant = server.get_consent_grant(end_user=_known_end_user(state))
    except OAuth2Error as error:
        return server.handle_error_response(None, error)
    launch = grant.launch_record
    if launch is not None:
        subject = Subject(launch.user_id, launch.patient, launch.encounter, launch.app_context)
        return server.create_authorization_response(grant=grant, grant_user=subject)
    return _standalone(state, grant, registration)


def _signed_in_user() -> str | None:
    user = session.get("user")
    return user if isinstance(user, str) and user in USERS else None


def _known_end_user(state: SandboxState) -> Subject | None:
    """The user already known before any page: the launch's user, or the signed-in one.

    OpenID Connect ``prompt=none`` succeeds only when this is known.
    """
    launch_id = request.values.get("launch")
    if launch_id:
        record = state.grants.live_launch(launch_id)
        return None if record is None else Subject(record.user_id)
    user = _signed_in_user()
    return None if user is None else Subject(user)


def _standalone(state: SandboxState, grant: Any, registration: ClientRegistration) -> Any:
    server = state.authorization_server
    patients = patient_summaries(state.store)
    chosen: str | None = None
    problem: str | None = None
    if request.method == "POST":
        if not csrf_ok():
            return error_page("The form expired. Start the sign-in again from the app.")
        action = request.form.get("action")
        if action == "deny":
            return server.create_authorization_response(grant=grant, grant_user=None)
        if action == "login":
            chosen_user = request.form.get("user", "")
            if chosen_user in USERS:
                session["user"] = chosen_user
            else:
                problem = "Choose who is signing in."
        elif action == "patient":
            patient = request.form.get("patient", "")
            if any(summary.id == patient for summary in patients):
                chosen = patient
            else:
                problem = "Choose a patient."
    user = _signed_in_user()
    prompts = (request.values.get("prompt") or "").split()
    if user is None or (request.method == "GET" and "login" in prompts):
        return _render("sandbox/login.html", registration, problem=problem)
    scopes = (request.values.get("scope") or "").split()
    if "launch/patient" in scopes and chosen is None:
        return _render(
            "sandbox/pick_patient.html",
            registration,
            patients=patients,
            user_name=USERS[user],
            problem=problem,
        )
    encounter = None if chosen is None else latest_encounter(state.store, chosen)
    subject = Subject(user, chosen, encounter)
    return server.create_authorization_response(grant=grant, grant_user=subject)


@bp.post("/token")
def token() -> Response:
    """The token endpoint: authorization_code, refresh_token and client_credentials."""
    response: Response = get_state().authorization_server.create_token_response()
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
