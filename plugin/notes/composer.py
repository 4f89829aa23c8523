# SPDX-License-Identifier: Apache-2.0
"""Minimal note composer: the shortest EHR note that billing and continuity need.

The screening and risk-review features fill in :class:`NoteFacts`; :func:`compose` turns it
into neutral clinical sentences.  Wording choices (see ``docs/notes-linter.md``):

* "safety screening" and "safety concerns", never "stalking", "abuse" or "violence": the
  note may be read by a curious insider, a portal proxy or, after a subpoena, the person
  causing harm.
* No incident detail, names, places, dates of events or emotional description; only that a
  service took place, the clinician's summary concern, what was offered and the follow-up.
* The referral is "a support service", never the agency's name or location.
* A declined offer reads "not taken up at this time", which records the fact without
  suggesting the client failed to protect themselves or others.
* The only date is the session date, written as ``Session date: YYYY-MM-DD``, which the
  linter allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = ["Concern", "FollowUp", "NoteFacts", "compose"]

Concern = Literal["low", "moderate", "high"]
FollowUp = Literal["next-session", "within-week", "as-scheduled"]

_FOLLOW_UP: dict[FollowUp, str] = {
    "next-session": "Follow-up at next session.",
    "within-week": "Follow-up within one week.",
    "as-scheduled": "Follow-up as scheduled.",
}


@dataclass(frozen=True)
class NoteFacts:
    """Structured results of one session, as the screening and risk features report them.

    :param session_date: date of the session, or ``None`` to leave it to the EHR encounter.
    :param screening_completed: the safety screening was completed this session.
    :param risk_review_completed: the structured risk review was completed.
    :param overall_concern: the clinician's summary concern, if one was recorded.
    :param safety_plan_offered: a safety plan was discussed and offered.
    :param safety_plan_accepted: the client's answer, or ``None`` if undecided.
    :param referral_offered: a referral to a support service was offered.
    :param referral_accepted: the client's answer, or ``None`` if undecided.
    :param follow_up: the agreed follow-up, if any.
    :param suicide_risk_followup: suicide risk needs follow-up under clinic protocol.
    """

    session_date: date | None
    screening_completed: bool
    risk_review_completed: bool
    overall_concern: Concern | None
    safety_plan_offered: bool
    safety_plan_accepted: bool | None
    referral_offered: bool
    referral_accepted: bool | None
    follow_up: FollowUp | None
    suicide_risk_followup: bool


def _answer(accepted: bool | None) -> str:
    if accepted is None:
        return ""
    return "; accepted" if accepted else "; not taken up at this time"


def _risk_sentence(facts: NoteFacts) -> str | None:
    concern = facts.overall_concern
    if facts.risk_review_completed:
        suffix = f"; clinician's overall concern: {concern}" if concern else ""
        return f"Structured risk review completed{suffix}."
    return f"Clinician's overall concern: {concern}." if concern else None


def compose(facts: NoteFacts) -> str:
    """Draft the minimal note for one session.

    The output is deterministic: the same facts always give the same text.

    :param facts: the structured results of the session.
    :returns: one line of short sentences, ready for the clinician to edit.
    """
    sentences: list[str | None] = [
        f"Session date: {facts.session_date.isoformat()}." if facts.session_date else None,
        "Safety screening completed."
        if facts.screening_completed
        else "Safety screening deferred.",
        _risk_sentence(facts),
    ]
    if facts.safety_plan_offered:
        sentences.append(f"Safety plan discussed and offered{_answer(facts.safety_plan_accepted)}.")
    if facts.referral_offered:
        sentences.append(
            f"Referral to a support service offered{_answer(facts.referral_accepted)}."
        )
    if facts.suicide_risk_followup:
        sentences.append("Suicide risk follow-up per clinic protocol.")
    if facts.follow_up:
        sentences.append(_FOLLOW_UP[facts.follow_up])
    return " ".join(s for s in sentences if s)
