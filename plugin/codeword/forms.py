# SPDX-License-Identifier: Apache-2.0
"""Parsing the code-word forms: shapes only, with plain messages; the services decide the rest.

Times are shown and entered in the practice's time zone (tenant option ``timezone``, an IANA
name such as ``America/Chicago``; UTC when unset or unknown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from werkzeug.datastructures import MultiDict

from .interfaces import Action
from .interfaces import AlertRecipient
from .interfaces import VerificationPolicy

__all__ = [
    "APPOINTMENT_ACTIONS",
    "CANCEL_CHOICES",
    "MAX_AHEAD",
    "MAX_WORD",
    "NUMBER_FIELDS",
    "REASONS",
    "Enrollment",
    "GrantedChange",
    "VerifyRequest",
    "clock_time",
    "enrollment_from",
    "granted_from",
    "local_time",
    "practice_zone",
    "protocol_from",
    "start_from",
    "verify_request_from",
]

MAX_WORD = 128
"""Longest word accepted in a form (the argon2 input is a fixed-size HMAC either way)."""
APPOINTMENT_ACTIONS: tuple[Action, ...] = (Action.RESCHEDULE, Action.CANCEL)
"""The actions Quietline carries out on an appointment (front desk "Move" and "Cancel")."""
_FHIR_ID = re.compile(r"(?=[\-.]*[A-Za-z0-9])[A-Za-z0-9\-.]{1,64}")
"""A FHIR logical id with at least one letter or digit (``.`` and ``..`` are paths, not ids)."""
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{32,128}")
"""A grant token as issued (``secrets.token_urlsafe(32)``: 43 characters)."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME = re.compile(r"\d{2}:\d{2}(?::\d{2})?", re.ASCII)
MAX_AHEAD = timedelta(days=3660)
"""How far ahead an appointment may be moved (about ten years)."""
REASONS = ("change", "forgotten")
"""The enrollment form's ``reason`` radio values."""
CANCEL_CHOICES: Mapping[str, str] = {
    "pat": "The client asked to cancel",
    "prov": "The clinician or practice cancelled",
    "oth-err": "It was booked in error",
    "other": "Another reason",
}
"""Cancellation reasons as the front desk reads them (codes of appointment-cancellation-reason)."""
NUMBER_FIELDS: Mapping[str, str] = {
    "max_failures": "Failed attempts before changes are paused",
    "lockout_minutes": "Pause length in minutes",
    "min_length": "Shortest word accepted",
    "grant_minutes": "Minutes a verification stays usable",
}


def practice_zone(options: Mapping[str, Any]) -> tzinfo:
    """The practice's time zone from the tenant options (UTC when unset or unknown)."""
    name = options.get("timezone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return UTC
    return UTC


def local_time(moment: datetime | None, zone: tzinfo) -> str:
    """``Tue 3 Mar 2026, 14:05`` in the practice's zone (empty for no time)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def clock_time(moment: datetime, zone: tzinfo) -> str:
    """``14:05 UTC`` style, for "paused until" messages."""
    local = moment.astimezone(zone)
    return f"{local:%H:%M} {local.tzname() or ''}".strip()


@dataclass(frozen=True)
class VerifyRequest:
    """What the front desk typed: the caller's word, for one action (on one appointment)."""

    action: Action
    appointment_id: str | None
    word: str


def _action(raw: str | None) -> Action | None:
    return next((action for action in APPOINTMENT_ACTIONS if action.value == raw), None)


def _appointment(raw: str | None) -> str | None:
    return raw if raw and _FHIR_ID.fullmatch(raw) else None


def verify_request_from(form: MultiDict[str, str]) -> tuple[VerifyRequest | None, list[str]]:
    """The verification form, or the problems with it (nothing is counted as an attempt).

    ``choice`` is ``<action>:<appointment id>`` for a move or cancel, or ``book`` for a new
    booking; ``word`` is what the caller says.
    """
    problems: list[str] = []
    choice = form.get("choice", "")
    raw_action, _, raw_appointment = choice.partition(":")
    action = Action.BOOK if choice == Action.BOOK.value else _action(raw_action)
    appointment = _appointment(raw_appointment) if action in APPOINTMENT_ACTIONS else None
    word = form.get("word", "")
    if action is None or (action in APPOINTMENT_ACTIONS and appointment is None):
        problems.append("Choose what the caller is asking for.")
    if not word.strip():
        problems.append("Type what the caller says.")
    elif len(word) > MAX_WORD:
        problems.append(f"That is longer than {MAX_WORD} characters; no word is that long.")
    if problems or action is None:
        return None, problems
    return VerifyRequest(action, appointment, word), []


@dataclass(frozen=True)
class GrantedChange:
    """The granted change as posted back: its grant token and appointment."""

    action: Action
    appointment_id: str
    token: str


def granted_from(form: MultiDict[str, str]) -> GrantedChange | None:
    """The hidden fields of the change form (None when they were tampered with)."""
    action = _action(form.get("action"))
    appointment = _appointment(form.get("appointment"))
    token = form.get("token", "")
    if action is None or appointment is None or not _TOKEN.fullmatch(token):
        return None
    return GrantedChange(action, appointment, token)


def start_from(
    form: MultiDict[str, str], zone: tzinfo, now: datetime
) -> tuple[datetime | None, str | None]:
    """The new start from the ``date`` (``YYYY-MM-DD``) and ``time`` (``HH:MM``) fields, in
    the practice's zone, in the future and at most :data:`MAX_AHEAD` ahead."""
    raw_day, raw_at = form.get("date", "").strip(), form.get("time", "").strip()
    unreadable = "Enter the new date and time, for example 2026-03-03 and 14:00."
    if not (_DATE.fullmatch(raw_day) and _TIME.fullmatch(raw_at)):
        return None, unreadable
    try:
        start = datetime.combine(date.fromisoformat(raw_day), time.fromisoformat(raw_at))
        start = start.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None, unreadable
    if start <= now:
        return None, "Choose a new time in the future."
    if start > now + MAX_AHEAD:
        return None, "Choose a new time within the next ten years."
    return start, None


@dataclass(frozen=True)
class Enrollment:
    """The enrollment form: the new word twice, the in-person confirmation and, for a client
    who already has a word, why a new one is needed and the current word."""

    word: str
    confirm: str
    present: bool
    reason: str | None
    """``change``, ``forgotten``, None when the field was not sent, or what was sent instead."""
    current: str
    """The current word, for a change (never for a reset)."""

    @property
    def reset(self) -> bool:
        """The client forgot the word (a reset), rather than choosing to change it."""
        return self.reason == "forgotten"

    def problem(self, *, enrolled: bool) -> str | None:
        """What must be corrected before anything is checked or counted (None: nothing).

        :param enrolled: whether the client already has a word.
        """
        if not self.present:
            return "Confirm that the client is here with you. The word is only set in person."
        if (enrolled or self.reason is not None) and self.reason not in REASONS:
            return "Choose why the client needs a new word."
        if not enrolled or self.reset:
            return None
        if not self.current:
            return "Type the client's current word, or choose that the client forgot it."
        if len(self.current) > MAX_WORD:
            return (
                f"The current word typed is longer than {MAX_WORD} characters, so it cannot be "
                "the word. Nothing was changed."
            )
        return None


def enrollment_from(form: MultiDict[str, str]) -> Enrollment:
    return Enrollment(
        word=form.get("word", "")[: MAX_WORD + 1],
        confirm=form.get("confirm", "")[: MAX_WORD + 1],
        present=form.get("present") == "yes",
        reason=form.get("reason"),
        current=form.get("current", "")[: MAX_WORD + 1],
    )


def _number(form: MultiDict[str, str], name: str, errors: dict[str, str]) -> int:
    raw = form.get(name, "").strip()
    if not raw.isdigit() or len(raw) > 6:
        errors[name] = f"{NUMBER_FIELDS[name]} must be a whole number."
        return 0
    return int(raw)


def protocol_from(
    form: MultiDict[str, str],
) -> tuple[VerificationPolicy | None, dict[str, str]]:
    """The admin's protocol form, or field messages for values that are not numbers."""
    errors: dict[str, str] = {}
    actions = frozenset(a for a in Action if a.value in form.getlist("actions"))
    alert = frozenset(r for r in AlertRecipient if r.value in form.getlist("alert"))
    numbers = {name: _number(form, name, errors) for name in NUMBER_FIELDS}
    words = re.split(r"[\n,]", form.get("refused_words", ""))
    refused = tuple(dict.fromkeys(w.strip() for w in words if w.strip()))
    if len(refused) > 500 or any(len(w) > MAX_WORD for w in refused):
        errors["refused_words"] = "Keep the list under 500 words of up to 128 characters each."
    if errors:
        return None, errors
    return (
        VerificationPolicy(
            actions=actions,
            max_failures=numbers["max_failures"],
            lockout_minutes=numbers["lockout_minutes"],
            alert=alert,
            second_approval=form.get("second_approval") == "yes",
            min_length=numbers["min_length"],
            refused_words=refused,
            grant_minutes=numbers["grant_minutes"],
        ),
        {},
    )
