# SPDX-License-Identifier: Apache-2.0
"""The EHR's own pages: the home page and the patient chart that embeds an app.

SMART App Launch 2.2, "EHR Launch": the EHR opens the app's launch URL with ``iss`` (the FHIR
base) and an opaque ``launch`` that the authorization server later resolves to the user,
patient and encounter of the chart, and to an ``appContext`` when the launch carries one
(``/ehr/launch?...&app_context=...``; the scheduling page and CDS SMART links set it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Blueprint
from flask import render_template
from flask import request

from .authorize_views import error_page
from .chart import latest_encounter
from .chart import patient_summaries
from .chart import patient_summary
from .seed import ROLES
from .seed import USERS
from .state import get_state

if TYPE_CHECKING:
    from .config import ClientRegistration
    from .state import SandboxState
    from .store import StoredResource

__all__ = [
    "MAX_APP_CONTEXT",
    "EmbeddedLaunch",
    "LaunchRefused",
    "bp",
    "embedded_launch",
    "launch_src",
]

MAX_APP_CONTEXT = 4096
"""Characters of ``appContext`` a launch may carry."""

bp = Blueprint("sandbox_pages", __name__)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def launch_src(launch_url: str, fhir_base: str, launch_id: str) -> str:
    """``{launch_url}?iss={FHIR base}&launch={launch id}``, URL-encoded."""
    separator = "&" if "?" in launch_url else "?"
    return launch_url + separator + urlencode({"iss": fhir_base, "launch": launch_id})


@bp.get("/")
def index() -> str:
    """Patients, staff and launch links for every user and app."""
    state = get_state()
    apps = [client for client in state.config.clients if client.launch_url]
    staff = [(user_id, name, ROLES[user_id][1]) for user_id, name in USERS.items()]
    return render_template(
        "sandbox/index.html",
        patients=patient_summaries(state.store),
        staff=staff,
        apps=apps,
        fhir_base=state.config.fhir_base,
    )


class LaunchRefused(Exception):
    """An embedded launch cannot be made; the message is shown on the EHR's error page."""


@dataclass(frozen=True)
class EmbeddedLaunch:
    """A launch created for the iframe: the app, the patient and the iframe's ``src``."""

    app: ClientRegistration
    patient: StoredResource
    src: str


def embedded_launch(
    state: SandboxState,
    *,
    patient_id: str,
    user_id: str,
    app_id: str | None = None,
    app_context: str | None = None,
    launch_url: str | None = None,
) -> EmbeddedLaunch:
    """Create an EHR launch of a registered app for ``user_id`` with ``patient_id`` in context.

    :param app_context: handed to the app in the token response as ``appContext``.
    :param launch_url: pick the app registered with this launch URL (a CDS SMART link's
        ``url``), or else one on the same origin; otherwise ``app_id`` or the first app with
        a launch URL.
    :raises LaunchRefused: unknown patient, user or app, or an oversized ``app_context``.
    """
    stored = state.store.read("Patient", patient_id) if patient_id else None
    if stored is None or stored.deleted:
        raise LaunchRefused("There is no patient with that id in the sandbox EHR.")
    if user_id not in USERS:
        raise LaunchRefused("There is no staff user with that id in the sandbox EHR.")
    if app_context is not None and len(app_context) > MAX_APP_CONTEXT:
        raise LaunchRefused("The app context is too long.")
    candidates = [client for client in state.config.clients if client.launch_url]
    if app_id is not None:
        candidates = [client for client in candidates if client.client_id == app_id]
    if launch_url is not None:
        candidates = [client for client in candidates if client.launch_url == launch_url] or [
            client
            for client in candidates
            if _origin(str(client.launch_url)) == _origin(launch_url)
        ]
    if not candidates:
        raise LaunchRefused("No registered app with a launch URL matches this request.")
    app = candidates[0]
    encounter = latest_encounter(state.store, patient_id, status="in-progress")
    launch = state.grants.create_launch(
        client_id=app.client_id,
        user_id=user_id,
        patient=patient_id,
        encounter=encounter,
        app_context=app_context or None,
    )
    return EmbeddedLaunch(
        app, stored, launch_src(str(app.launch_url), state.config.fhir_base, launch.id)
    )


@bp.get("/ehr/launch")
def ehr_launch() -> Any:
    """Create a launch for patient, user and app, and show the chart with the app embedded.

    ``app_context`` (optional) reaches the app as the token response's ``appContext``.
    """
    state = get_state()
    try:
        launch = embedded_launch(
            state,
            patient_id=request.args.get("patient", ""),
            user_id=request.args.get("user", ""),
            app_id=request.args.get("app"),
            app_context=request.args.get("app_context"),
        )
    except LaunchRefused as exc:
        return error_page(str(exc))
    return render_template(
        "sandbox/chart.html",
        patient=patient_summary(state.store, launch.patient),
        user_name=USERS[request.args["user"]],
        app=launch.app,
        src=launch.src,
    )
