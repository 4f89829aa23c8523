# SPDX-License-Identifier: Apache-2.0
"""Code-word pages of the front desk: verification of a caller and the granted change.

Every page checks its permission before it looks anything up, so a user without it gets the
same 403 whether or not the client has a word.  Words travel only in POST bodies and are never
echoed back; appointment ids and grant tokens travel only in POST bodies too.  The clinician's
pages (enrollment, resets, clearing a pause) are in :mod:`.enrollment`; this module registers
them on the same blueprint, at the end.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from smart_launch.errors import SmartLaunchError

from ..authz import Permission
from ..launch.guard import launch_required
from ..launch.services import LaunchService
from ..launch.store import LiveLaunch
from ..registry import get_service
from . import enrollment
from .appointments import CANCEL_REASONS
from .appointments import AppointmentChanger
from .context import actor as staff_of
from .context import done_message
from .context import patient as patient_of
from .context import zone as zone_of
from .errors import BadForm
from .errors import ChangeNotMade
from .errors import ChangeRecordPending
from .forms import CANCEL_CHOICES
from .forms import GrantedChange
from .forms import clock_time
from .forms import granted_from
from .forms import local_time
from .forms import start_from
from .forms import verify_request_from
from .grants import GrantRefused
from .interfaces import Action
from .interfaces import VerifyOutcome
from .interfaces import VerifyResult
from .schedule import Upcoming
from .schedule import upcoming
from .services import CodewordService

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("codeword", __name__, template_folder="templates")


def _requested(live: LiveLaunch) -> str | None:
    """The ``action:appointment`` choice the EHR asked for in the launch's appContext."""
    raw = live.context.app_context
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    verify = data.get("verify") if isinstance(data, dict) else None
    if not isinstance(verify, dict):
        return None
    action, appointment = verify.get("action"), verify.get("appointment")
    if action == Action.BOOK.value:
        return Action.BOOK.value
    return f"{action}:{appointment}" if isinstance(appointment, str) else None


def _paused(live: LiveLaunch, locked_until: datetime) -> str:
    """The lockout sentence (the treating clinician is always alerted of a lockout)."""
    until = clock_time(locked_until, zone_of(live))
    return (
        f"Changes for this client are paused until {until}. Do not make the change; "
        "the treating clinician has been told."
    )


def _outcome(result: VerifyResult, live: LiveLaunch) -> str:
    """The calm, plain sentence for a verification that did not grant anything."""
    locked_until = result.locked_until
    if result.outcome == VerifyOutcome.WRONG and locked_until is None:
        left = result.remaining or 0
        tries = "try" if left == 1 else "tries"
        return f"That does not match. {left} {tries} left before changes are paused."
    if result.outcome in {VerifyOutcome.WRONG, VerifyOutcome.LOCKED}:
        return _paused(live, locked_until or datetime.now(UTC))
    return {
        VerifyOutcome.NOT_ENROLLED: "No verification word is set up for this client.",
        VerifyOutcome.NOT_REQUIRED: "The practice's protocol does not ask for the word for this "
        "kind of change. Make it in the EHR as usual.",
        VerifyOutcome.RATE_LIMITED: "Too many verification attempts in a short time. Wait a few "
        "minutes, then try again.",
    }.get(result.outcome, "The caller could not be verified.")


# -- front desk: verification and the change -----------------------------------------------


def _verify_page(
    live: LiveLaunch,
    *,
    chosen: str | None = None,
    message: str | None = None,
    problems: Sequence[str] = (),
    status: int = 200,
) -> Any:
    patient = patient_of(live)
    codewords = get_service(CodewordService)
    state = codewords.status(live.context.tenant, patient)
    rows: list[Upcoming] = []
    ehr_down = False
    if state.enrolled:
        try:
            fhir = get_service(LaunchService).fhir(live)
            rows = upcoming(fhir, patient, datetime.now(UTC))
        except SmartLaunchError as exc:
            log.warning("appointments unavailable: %s", exc.error)
            ehr_down = True
    if chosen is None:
        requested = _requested(live)
        offered = {
            f"{a.value}:{row.id}" for row in rows for a in (Action.RESCHEDULE, Action.CANCEL)
        }
        chosen = requested if requested in offered or requested == Action.BOOK.value else None
    zone = zone_of(live)
    body = render_template(
        "codeword/verify.html",
        live=live,
        state=state,
        paused=_paused(live, state.locked_until) if state.locked_until else None,
        zone=zone,
        rows=rows,
        when=lambda moment: local_time(moment, zone),
        chosen=chosen,
        message=message,
        problems=problems,
        ehr_down=ehr_down,
        done=done_message(),
    )
    return body, status


@bp.get("/l/<handle>/codeword/")
@launch_required(Permission.CODEWORD_VERIFY)
def index(live: LiveLaunch) -> Any:
    return _verify_page(live)


def _not_this_clients(live: LiveLaunch, action: Action, appointment_id: str) -> Any | None:
    """The refusal page when the chosen appointment is not the launch's client's (no word is
    checked for it), or None when it is."""
    try:
        get_service(AppointmentChanger).check_client(
            get_service(LaunchService).fhir(live),
            tenant=live.context.tenant,
            patient_id=patient_of(live),
            appointment_id=appointment_id,
            staff=staff_of(live),
            action=action,
        )
    except ChangeNotMade as exc:
        return _verify_page(live, message=exc.description, status=exc.status_code)
    return None


@bp.post("/l/<handle>/codeword/verify")
@launch_required(Permission.CODEWORD_VERIFY)
def verify(live: LiveLaunch) -> Any:
    patient = patient_of(live)
    chosen = request.form.get("choice")
    asked, problems = verify_request_from(request.form)
    if asked is None:
        return _verify_page(live, chosen=chosen, problems=problems, status=400)
    if asked.appointment_id is not None:
        refused = _not_this_clients(live, asked.action, asked.appointment_id)
        if refused is not None:
            return refused
    result = get_service(CodewordService).verify(
        tenant=live.context.tenant,
        patient_id=patient,
        word=asked.word,
        action=asked.action,
        appointment_id=asked.appointment_id,
        staff=staff_of(live),
    )
    grant = result.grant
    if result.outcome == VerifyOutcome.GRANTED and grant is not None:
        granted = GrantedChange(grant.action, grant.appointment_id or "", grant.token)
        return _change_page(live, granted, expires_at=grant.expires_at)
    status = {
        VerifyOutcome.WRONG: 400,
        VerifyOutcome.LOCKED: 423,
        VerifyOutcome.RATE_LIMITED: 429,
    }.get(result.outcome, 200)
    if result.outcome == VerifyOutcome.WRONG and result.locked_until is not None:
        status = 423
    return _verify_page(live, chosen=chosen, message=_outcome(result, live), status=status)


def _change_page(
    live: LiveLaunch,
    granted: GrantedChange,
    *,
    expires_at: datetime | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    zone = zone_of(live)
    row: Upcoming | None = None
    if granted.action.on_appointment:
        try:
            fhir = get_service(LaunchService).fhir(live)
            found = upcoming(fhir, patient_of(live), datetime.now(UTC))
            row = next((r for r in found if r.id == granted.appointment_id), None)
        except SmartLaunchError as exc:
            log.warning("appointment unavailable: %s", exc.error)
    body = render_template(
        "codeword/change.html",
        live=live,
        granted=granted,
        row=row,
        when=lambda moment: local_time(moment, zone),
        until=clock_time(expires_at, zone) if expires_at else None,
        zone=zone,
        reasons=CANCEL_CHOICES,
        form=request.form,
        error=error,
    )
    return body, status


def _make_change(live: LiveLaunch, patient: str, granted: GrantedChange) -> str | None:
    """Carry out the granted change; a message when the form needs correcting first."""
    changer = get_service(AppointmentChanger)
    fhir = get_service(LaunchService).fhir(live)
    tenant, staff = live.context.tenant, staff_of(live)
    if granted.action == Action.RESCHEDULE:
        start, error = start_from(request.form, zone_of(live), datetime.now(UTC))
        if start is None:
            return error
        changer.reschedule(
            fhir,
            tenant=tenant,
            patient_id=patient,
            appointment_id=granted.appointment_id,
            token=granted.token,
            staff=staff,
            new_start=start,
        )
        return None
    reason = request.form.get("reason", "")
    if reason not in CANCEL_REASONS:
        return "Choose why the appointment is cancelled."
    changer.cancel(
        fhir,
        tenant=tenant,
        patient_id=patient,
        appointment_id=granted.appointment_id,
        token=granted.token,
        staff=staff,
        reason=reason,
    )
    return None


@bp.post("/l/<handle>/codeword/change")
@launch_required(Permission.CODEWORD_VERIFY)
def change(live: LiveLaunch) -> Any:
    patient = patient_of(live)
    granted = granted_from(request.form)
    if granted is None:
        message = f"{BadForm.description} Verify the caller again."
        return _verify_page(live, message=message, status=BadForm.status_code)
    try:
        error = _make_change(live, patient, granted)
    except (ChangeRecordPending, GrantRefused) as exc:
        # ChangeRecordPending: the EHR holds the change, so the page says it was changed.
        return _verify_page(live, message=exc.description, status=exc.status_code)
    except ChangeNotMade as exc:
        if exc.retry_until is None:
            return _verify_page(live, message=exc.description, status=exc.status_code)
        return _change_page(
            live, granted, expires_at=exc.retry_until, error=exc.description, status=exc.status_code
        )
    if error is not None:
        return _change_page(live, granted, error=error, status=400)
    return redirect(url_for("codeword.index", handle=live.handle, done=granted.action.value), 303)


# The clinician's pages, with the client present: enrollment, a word change or reset, clearing
# a pause, and a second staff member's approval of a reset.
bp.add_url_rule("/l/<handle>/codeword/enroll", view_func=enrollment.enroll_page, methods=["GET"])
bp.add_url_rule("/l/<handle>/codeword/enroll", view_func=enrollment.enroll, methods=["POST"])
bp.add_url_rule("/l/<handle>/codeword/unlock", view_func=enrollment.unlock, methods=["POST"])
bp.add_url_rule(
    "/l/<handle>/codeword/approve", view_func=enrollment.approve, methods=["GET", "POST"]
)
