# SPDX-License-Identifier: Apache-2.0
"""The EHR's own pages: the home page and the patient chart that embeds an app.

SMART App Launch 2.2, "EHR Launch": the EHR opens the app's launch URL with ``iss`` (the FHIR
base) and an opaque ``launch`` that the authorization server later resolves to the user,
patient and encounter of the chart.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

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

__all__ = ["bp", "launch_src"]

bp = Blueprint("sandbox_pages", __name__)


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


@bp.get("/ehr/launch")
def ehr_launch() -> Any:
    """Create a launch for patient, user and app, and show the chart with the app embedded."""
    state = get_state()
    patient_id = request.args.get("patient", "")
    user_id = request.args.get("user", "")
    app_id = request.args.get("app")
    stored = state.store.read("Patient", patient_id) if patient_id else None
    if stored is None or stored.deleted:
        return error_page("There is no patient with that id in the sandbox EHR.")
    if user_id not in USERS:
        return error_page("There is no staff user with that id in the sandbox EHR.")
    candidates = [client for client in state.config.clients if client.launch_url]
    if app_id is not None:
        candidates = [client for client in candidates if client.client_id == app_id]
    if not candidates:
        return error_page("No registered app with a launch URL matches this request.")
    app = candidates[0]
    encounter = latest_encounter(state.store, patient_id, status="in-progress")
    launch = state.grants.create_launch(
        client_id=app.client_id, user_id=user_id, patient=patient_id, encounter=encounter
    )
    return render_template(
        "sandbox/chart.html",
        patient=patient_summary(state.store, stored),
        user_name=USERS[user_id],
        app=app,
        src=launch_src(str(app.launch_url), state.config.fhir_base, launch.id),
    )
