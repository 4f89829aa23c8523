# SPDX-License-Identifier: Apache-2.0
"""Code-word pages of the clinician: set up, change or reset the client's word with the client
present, approve a reset (another clinician or an admin), and clear a pause in person.

A change of word needs the current word (checked like a caller's, against the same lockout);
a client who forgot it gets a reset, which waits for a second staff member when the protocol
asks for one.

The client's names and birth date are read live from the EHR for the word checks and never
stored.  A user without the page's permission gets the same 403 whatever the enrollment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from smart_launch.errors import SmartLaunchError

from ..authz import Permission
from ..authz import has_permission
from ..errors import Forbidden
from ..errors import PluginError
from ..launch.guard import launch_required
from ..launch.services import LaunchService
from ..launch.store import LiveLaunch
from ..registry import get_service
from .context import actor as staff_of
from .context import done_message
from .context import patient as patient_of
from .context import zone as zone_of
from .forms import clock_time
from .forms import enrollment_from
from .forms import local_time
from .interfaces import PatientFacts
from .reconcile import Reconciler
from .services import CodewordService
from .services import WordRefused

__all__: list[str] = []

log = logging.getLogger(__name__)


# -- clinician: enrollment with the client present -----------------------------------------


def _enroll_page(
    live: LiveLaunch,
    *,
    problems: Sequence[str] = (),
    error: str | None = None,
    status: int = 200,
) -> Any:
    patient = patient_of(live)
    codewords = get_service(CodewordService)
    state = codewords.status(live.context.tenant, patient)
    zone = zone_of(live)
    body = render_template(
        "codeword/enroll.html",
        live=live,
        state=state,
        protocol=codewords.policies.get(live.context.tenant),
        locked_until=clock_time(state.locked_until, zone) if state.locked_until else None,
        enrolled_on=local_time(state.enrolled_at, zone),
        can_approve=state.pending_reset and state.pending_by != staff_of(live),
        problems=problems,
        error=error,
        done=done_message(),
    )
    return body, status


def _facts(live: LiveLaunch, patient_id: str) -> PatientFacts:
    """The client's names and birth date, read live from the EHR and never stored."""
    resource = get_service(LaunchService).fhir(live).read("Patient", patient_id).resource
    names: list[str] = []
    for name in getattr(resource, "name", None) or []:
        names.extend(str(part) for part in name.given or [])
        names.extend(str(part) for part in (name.family, name.text) if part)
    born = getattr(resource, "birthDate", None)
    return PatientFacts(names=tuple(names), birth_date=str(born) if born else None)


def _baseline(live: LiveLaunch, patient_id: str) -> None:
    """Remember the client's appointments as they are now, for bypass detection."""
    reconciler = current_app.extensions.get("plugin", {}).get(Reconciler)
    if reconciler is None:
        return
    try:
        reconciler.baseline(get_service(LaunchService).fhir(live), live.context.tenant, patient_id)
    except SmartLaunchError as exc:  # the next reconciliation pass records them instead
        log.warning("appointment baseline skipped: %s", exc.error)


@launch_required(Permission.CODEWORD_ENROLL)
def enroll_page(live: LiveLaunch) -> Any:
    return _enroll_page(live)


@launch_required(Permission.CODEWORD_ENROLL)
def enroll(live: LiveLaunch) -> Any:
    patient = patient_of(live)
    form = enrollment_from(request.form)
    codewords = get_service(CodewordService)
    tenant = live.context.tenant
    first = not codewords.status(tenant, patient).enrolled
    problem = form.problem(enrolled=not first)
    if problem is not None:
        return _enroll_page(live, error=problem, status=400)
    try:
        facts = _facts(live, patient)
    except SmartLaunchError:
        error = "The client's details could not be read from the EHR to check the word. Try again."
        return _enroll_page(live, error=error, status=503)
    clinician = staff_of(live)
    try:
        if first:
            codewords.enroll(
                tenant=tenant,
                patient_id=patient,
                word=form.word,
                confirm=form.confirm,
                facts=facts,
                actor=clinician,
                client_present=True,
            )
            done = "enrolled"
        elif form.reset:
            active = codewords.request_reset(
                tenant=tenant,
                patient_id=patient,
                word=form.word,
                confirm=form.confirm,
                facts=facts,
                actor=clinician,
                client_present=True,
            )
            done = "reset" if active else "pending"
        else:
            codewords.change_word(
                tenant=tenant,
                patient_id=patient,
                current=form.current,
                word=form.word,
                confirm=form.confirm,
                facts=facts,
                actor=clinician,
                client_present=True,
            )
            done = "changed"
    except WordRefused as exc:
        return _enroll_page(live, problems=exc.problems, status=400)
    except PluginError as exc:
        return _enroll_page(live, error=exc.description, status=exc.status_code)
    if first:
        _baseline(live, patient)
    return redirect(url_for("codeword.enroll_page", handle=live.handle, done=done), 303)


@launch_required(Permission.CODEWORD_ENROLL)
def unlock(live: LiveLaunch) -> Any:
    patient = patient_of(live)
    if request.form.get("present") != "yes":
        error = "Confirm that the client is here with you before clearing the pause."
        return _enroll_page(live, error=error, status=400)
    try:
        get_service(CodewordService).clear_lockout(
            tenant=live.context.tenant, patient_id=patient, actor=staff_of(live)
        )
    except PluginError as exc:
        return _enroll_page(live, error=exc.description, status=exc.status_code)
    return redirect(url_for("codeword.enroll_page", handle=live.handle, done="unlocked"), 303)


@launch_required(Permission.HOME_VIEW)
def approve(live: LiveLaunch) -> Any:
    """A second staff member (another clinician or an admin) approves a pending reset."""
    if not any(
        has_permission(live.roles, p) for p in (Permission.CODEWORD_ENROLL, Permission.ADMIN_MANAGE)
    ):
        raise Forbidden
    patient = patient_of(live)
    codewords = get_service(CodewordService)
    error, status = None, 200
    if request.method == "POST":
        try:
            codewords.approve_reset(
                tenant=live.context.tenant, patient_id=patient, approver=staff_of(live)
            )
        except PluginError as exc:
            error, status = exc.description, exc.status_code
        else:
            return redirect(url_for("codeword.approve", handle=live.handle, done="approved"), 303)
    state = codewords.status(live.context.tenant, patient)
    body = render_template(
        "codeword/approve.html",
        live=live,
        state=state,
        can_approve=state.pending_reset and state.pending_by != staff_of(live),
        error=error,
        done=done_message(),
    )
    return body, status
