# SPDX-License-Identifier: Apache-2.0
"""Parsing of the notes forms (no validation beyond shape; services decide)."""

from __future__ import annotations

from datetime import date

from werkzeug.datastructures import MultiDict

from .composer import NoteFacts
from .release import ReleaseDecision
from .release import decide

__all__ = ["facts_from", "kept_from", "release_from"]

_CONCERNS = {"low", "moderate", "high"}
_FOLLOW_UPS = {"next-session", "within-week", "as-scheduled"}


def _flag(form: MultiDict[str, str], name: str) -> bool:
    return form.get(name) == "yes"


def _tri(form: MultiDict[str, str], name: str) -> bool | None:
    value = form.get(name)
    return None if value not in {"yes", "no"} else value == "yes"


def facts_from(form: MultiDict[str, str], today: date) -> NoteFacts:
    concern = form.get("overall_concern")
    follow_up = form.get("follow_up")
    return NoteFacts(
        session_date=today,
        screening_completed=_flag(form, "screening_completed"),
        risk_review_completed=_flag(form, "risk_review_completed"),
        overall_concern=concern if concern in _CONCERNS else None,  # type: ignore[arg-type]
        safety_plan_offered=_flag(form, "safety_plan_offered"),
        safety_plan_accepted=_tri(form, "safety_plan_accepted"),
        referral_offered=_flag(form, "referral_offered"),
        referral_accepted=_tri(form, "referral_accepted"),
        follow_up=follow_up if follow_up in _FOLLOW_UPS else None,  # type: ignore[arg-type]
        suicide_risk_followup=_flag(form, "suicide_risk_followup"),
    )


def kept_from(form: MultiDict[str, str]) -> dict[str, str]:
    """``keep:<finding id>`` checkboxes with ``reason:<finding id>`` texts."""
    kept: dict[str, str] = {}
    for key in form:
        if key.startswith("keep:") and form.get(key) == "yes":
            finding = key.removeprefix("keep:")
            kept[finding] = (form.get(f"reason:{finding}") or "").strip()[:300]
    return kept


def release_from(form: MultiDict[str, str], today: date) -> ReleaseDecision:
    return decide(
        release=form.get("release", ""),
        basis=form.get("basis"),
        harm=form.get("harm"),
        scope=form.get("scope"),
        review_on=form.get("review_on"),
        uninduced=form.get("uninduced") == "yes",
        today=today,
    )
