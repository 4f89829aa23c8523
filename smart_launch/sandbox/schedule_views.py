# SPDX-License-Identifier: Apache-2.0
"""The EHR's scheduling page: upcoming appointments, Book and Change, and decision support.

Book and Change call every registered CDS service's ``appointment-book`` hook first
(:mod:`.cds_client`).  No cards: the change is written at once.  Cards, or a service that did
not answer: the page shows them and the user either follows a card's SMART link (feedback
``accepted``; the app opens in the page's iframe with the link's ``appContext``) or goes on
with "Book anyway" / "Change anyway" (feedback ``overridden``, then the write).  "Verify in
Quietline" launches the app for one appointment with
``appContext = {"verify": {"appointment": id, "action": "reschedule"}}``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING
from typing import Any

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from .authorize_views import error_page
from .chart import patient_summaries
from .csrf import csrf_ok
from .csrf import csrf_token
from .pages import LaunchRefused
from .pages import embedded_launch
from .schedule import PendingChange
from .schedule import booked
from .schedule import cancelled
from .schedule import moved
from .schedule import parse_start
from .schedule import patient_of
from .schedule import proposed
from .schedule import upcoming
from .seed import USERS
from .state import SandboxState
from .state import get_state
from .store import VersionConflict

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from .cds_cards import Card
    from .cds_cards import CardLink
    from .cds_cards import OverrideReason
    from .cds_client import ServiceAnswer

__all__ = ["bp", "verify_context"]

bp = Blueprint("sandbox_schedule", __name__)

_DONE = {
    "book": "The appointment was booked.",
    "move": "The appointment was moved.",
    "cancel": "The appointment was cancelled.",
}
_EXPIRED_FORM = "The form expired. Open the schedule again."
_UNKNOWN_USER = "There is no staff user with that id in the sandbox EHR."
_MAX_COMMENT = 500

Page = tuple[str, int]


def verify_context(appointment_id: str, action: str = "reschedule") -> str:
    """The ``appContext`` of a "Verify in Quietline" launch."""
    return json.dumps(
        {"verify": {"appointment": appointment_id, "action": action}}, separators=(",", ":")
    )


def _override_reasons(change: PendingChange) -> list[tuple[str, str]]:
    """``(a.c.r, display)`` for every override reason offered by a card."""
    return [
        (f"{a}.{c}.{r}", reason.display)
        for a, answer in enumerate(change.answers)
        for c, card in enumerate(answer.cards)
        for r, reason in enumerate(card.override_reasons)
    ]


def _render(
    state: SandboxState,
    user: str,
    *,
    notice: str | None = None,
    problem: str | None = None,
    pending: PendingChange | None = None,
    pending_key: str | None = None,
    src: str | None = None,
    status: int = 200,
) -> Page:
    page = render_template(
        "sandbox/schedule.html",
        user=user,
        user_name=USERS[user],
        rows=upcoming(state.store),
        patients=patient_summaries(state.store),
        notice=notice,
        problem=problem,
        pending=pending,
        pending_key=pending_key,
        reasons=[] if pending is None else _override_reasons(pending),
        src=src,
        csrf_token=csrf_token(),
    )
    return page, status


@bp.get("/ehr/schedule")
def schedule() -> Page:
    """The schedule for ``user``; with ``verify=<appointment id>`` the app opens in the iframe."""
    state = get_state()
    user = request.args.get("user", "")
    if user not in USERS:
        return error_page(_UNKNOWN_USER)
    src = None
    appointment_id = request.args.get("verify")
    if appointment_id:
        stored = state.store.read("Appointment", appointment_id)
        patient = None if stored is None or stored.deleted else patient_of(stored.body)
        if patient is None:
            return error_page("There is no appointment with that id in the sandbox EHR.")
        try:
            launch = embedded_launch(
                state,
                patient_id=patient,
                user_id=user,
                app_id=request.args.get("app"),
                app_context=verify_context(appointment_id),
            )
        except LaunchRefused as exc:
            return error_page(str(exc))
        src = launch.src
    return _render(state, user, notice=_DONE.get(request.args.get("done", "")), src=src)


def _form_user() -> str | None:
    user = request.form.get("user", "")
    return user if user in USERS else None


@bp.post("/ehr/schedule/book")
def book() -> Page | Response:
    """Book a new appointment (after decision support)."""
    state = get_state()
    user = _form_user()
    if not csrf_ok() or user is None:
        return error_page(_EXPIRED_FORM if user else _UNKNOWN_USER)
    patient = state.store.read("Patient", request.form.get("patient", "") or "-")
    if patient is None or patient.deleted:
        return _render(state, user, problem="Choose a patient.", status=400)
    start = parse_start(request.form.get("start", ""))
    if start is None:
        return _render(state, user, problem="Enter the start date and time.", status=400)
    change = PendingChange(
        action="book",
        user_id=user,
        patient_id=patient.id,
        appointment=booked(str(uuid.uuid4()), patient, start),
        base_version=None,
        answers=(),
        created_at=time.time(),
    )
    return _decide(state, change, patient.body)


@bp.post("/ehr/schedule/change")
def change() -> Page | Response:
    """Move or cancel an appointment in the EHR itself (after decision support)."""
    state = get_state()
    user = _form_user()
    if not csrf_ok() or user is None:
        return error_page(_EXPIRED_FORM if user else _UNKNOWN_USER)
    stored = state.store.read("Appointment", request.form.get("appointment", "") or "-")
    patient_id = None if stored is None or stored.deleted else patient_of(stored.body)
    patient = state.store.read("Patient", patient_id) if patient_id else None
    if stored is None or patient is None or patient.deleted:
        return _render(state, user, problem="That appointment no longer exists.", status=404)
    action = request.form.get("change", "")
    if action == "cancel":
        new = cancelled(stored.body)
    elif action == "move":
        start = parse_start(request.form.get("start", ""))
        if start is None:
            return _render(state, user, problem="Enter the new start date and time.", status=400)
        new = moved(stored.body, start)
    else:
        return _render(state, user, problem="Choose Move or Cancel.", status=400)
    pending = PendingChange(
        action=action,
        user_id=user,
        patient_id=patient.id,
        appointment=new,
        base_version=stored.version,
        answers=(),
        created_at=time.time(),
    )
    return _decide(state, pending, patient.body)


def _decide(state: SandboxState, change: PendingChange, patient: dict[str, Any]) -> Page | Response:
    answers = state.cds.appointment_book(
        user_id=change.user_id, patient=patient, appointment=proposed(change.appointment)
    )
    change = replace(change, answers=answers)
    if all(answer.error is None and not answer.cards for answer in answers):
        return _write(state, change)
    key = state.pending.add(change)
    return _render(state, change.user_id, pending=change, pending_key=key)


def _write(state: SandboxState, change: PendingChange) -> Page | Response:
    appointment = change.appointment
    try:
        state.store.update(
            "Appointment",
            str(appointment["id"]),
            appointment,
            if_match=change.base_version,
            require_if_match=False,
        )
    except VersionConflict:
        problem = "The appointment was changed meanwhile. Check it and make the change again."
        return _render(state, change.user_id, problem=problem, status=409)
    return redirect(url_for(".schedule", user=change.user_id, done=change.action), code=303)


def _indices(value: str, count: int) -> tuple[int, ...] | None:
    parts = value.split(".")
    if len(parts) != count or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def _take_pending(state: SandboxState) -> PendingChange | Page:
    """The posted pending change (used up), or the page that explains why there is none."""
    user = _form_user()
    if not csrf_ok() or user is None:
        return error_page(_EXPIRED_FORM if user else _UNKNOWN_USER)
    change = state.pending.take(request.form.get("key", ""))
    if change is None or change.user_id != user:
        problem = "This decision expired. Make the change again."
        return _render(state, user, problem=problem, status=409)
    return change


def _smart_link(change: PendingChange, value: str) -> tuple[ServiceAnswer, Card, CardLink] | None:
    """The SMART link named ``answer.card.link`` in a form field, if there is one."""
    where = _indices(value, 3)
    if where is None:
        return None
    a, c, n = where
    if a >= len(change.answers) or c >= len(change.answers[a].cards):
        return None
    answer = change.answers[a]
    card = answer.cards[c]
    if n >= len(card.links) or not card.links[n].is_smart:
        return None
    return answer, card, card.links[n]


@bp.post("/ehr/schedule/proceed")
def proceed() -> Page | Response:
    """ "Book anyway" / "Change anyway": feedback ``overridden`` on every card, then the write."""
    state = get_state()
    change = _take_pending(state)
    if not isinstance(change, PendingChange):
        return change
    chosen = _indices(request.form.get("reason", ""), 3)
    comment = request.form.get("comment", "").strip()[:_MAX_COMMENT]
    for a, answer in enumerate(change.answers):
        for c, card in enumerate(answer.cards):
            reason: OverrideReason | None = None
            if (
                chosen is not None
                and chosen[:2] == (a, c)
                and chosen[2] < len(card.override_reasons)
            ):
                reason = card.override_reasons[chosen[2]]
            state.cds.overridden(answer, card, reason, comment)
    return _write(state, change)


@bp.post("/ehr/schedule/open")
def open_link() -> Page | Response:
    """A card's SMART link: feedback ``accepted``, then the app in the iframe with its context."""
    state = get_state()
    change = _take_pending(state)
    if not isinstance(change, PendingChange):
        return change
    found = _smart_link(change, request.form.get("link", ""))
    if found is None:
        return _render(state, change.user_id, problem="That link is not available.", status=400)
    answer, card, link = found
    state.cds.accepted(answer, card)
    try:
        launch = embedded_launch(
            state,
            patient_id=change.patient_id,
            user_id=change.user_id,
            app_context=link.app_context,
            launch_url=link.url,
        )
    except LaunchRefused as exc:
        return _render(state, change.user_id, problem=str(exc), status=400)
    return _render(state, change.user_id, notice="The linked app is open below.", src=launch.src)
