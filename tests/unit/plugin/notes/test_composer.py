# SPDX-License-Identifier: Apache-2.0
"""The minimal note composer: every combination of facts gives a short, clean note."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest

from plugin.notes import NoteFacts
from plugin.notes import compose
from plugin.notes import lint

BANNED = re.compile(
    r"stalk|abus|violen|assault|threat|harass|victim|shelter|perpetrator|ex-|partner|fear|"
    r"afraid|police|court|\b(?:he|she|him|her)\b",
    re.IGNORECASE,
)


def _all_facts() -> list[NoteFacts]:
    return [
        NoteFacts(*values)
        for values in itertools.product(
            (None, date(2026, 11, 21)),
            (True, False),
            (True, False),
            (None, "low", "moderate", "high"),
            (True, False),
            (None, True, False),
            (True, False),
            (None, True, False),
            (None, "next-session", "within-week", "as-scheduled"),
            (True, False),
        )
    ]


def _facts(**changes: object) -> NoteFacts:
    base = NoteFacts(
        session_date=date(2026, 11, 21),
        screening_completed=True,
        risk_review_completed=True,
        overall_concern="moderate",
        safety_plan_offered=True,
        safety_plan_accepted=None,
        referral_offered=True,
        referral_accepted=None,
        follow_up="next-session",
        suicide_risk_followup=False,
    )
    return NoteFacts(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_example_note() -> None:
    assert compose(_facts()) == (
        "Session date: 2026-11-21. Safety screening completed. Structured risk review "
        "completed; clinician's overall concern: moderate. Safety plan discussed and offered. "
        "Referral to a support service offered. Follow-up at next session."
    )


def test_every_combination_is_clean_deterministic_and_short() -> None:
    for facts in _all_facts():
        note = compose(facts)
        assert lint(note) == [], note
        assert not BANNED.search(note), note
        assert compose(facts) == note
        assert len(note) <= 400


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"screening_completed": False}, "Safety screening deferred."),
        ({"risk_review_completed": False}, "Clinician's overall concern: moderate."),
        ({"safety_plan_accepted": True}, "Safety plan discussed and offered; accepted."),
        ({"referral_accepted": False}, "offered; not taken up at this time."),
        ({"suicide_risk_followup": True}, "Suicide risk follow-up per clinic protocol."),
        ({"follow_up": "within-week"}, "Follow-up within one week."),
        ({"follow_up": "as-scheduled"}, "Follow-up as scheduled."),
    ],
)
def test_sentences(changes: dict[str, object], expected: str) -> None:
    assert expected in compose(_facts(**changes))


def test_omits_what_did_not_happen() -> None:
    note = compose(
        _facts(
            session_date=None,
            risk_review_completed=False,
            overall_concern=None,
            safety_plan_offered=False,
            referral_offered=False,
            follow_up=None,
        )
    )
    assert note == "Safety screening completed."


def test_facts_are_frozen() -> None:
    with pytest.raises(AttributeError):
        _facts().screening_completed = False  # type: ignore[misc]
