# SPDX-License-Identifier: Apache-2.0
"""Printable handouts: a plain one, and a discreet one that looks like an appointment card.

The discreet card must never name what the client is going through: it is checked at import
against DISCREET_BANNED_WORDS.
"""

from __future__ import annotations

from .actions import HOTLINES
from .education import SPARC_LOG_URL
from .education import SPARC_WEBSITE
from .model import ContentError
from .model import Handout
from .model import HandoutKind

DISCREET_BANNED_WORDS: tuple[str, ...] = (
    "stalk",
    "abuse",
    "violen",
    "victim",
    "harass",
    "safety plan",
    "domestic",
    "assault",
    "rape",
    "threat",
    "danger",
    "police",
    "crime",
    "hotline",
    "rainn",
    "suicide",
)


def _hotline_lines() -> tuple[str, ...]:
    lines = []
    for line in HOTLINES:
        parts = [line.name, line.phone or "", line.text or "", line.hours]
        lines.append(" - ".join(part for part in parts if part))
    return tuple(lines)


PLAIN = Handout(
    title="Support when someone will not leave you alone",
    sections=(
        (
            "You are not overreacting",
            (
                (
                    "Unwanted contact, following, watching or tracking that continues after you "
                    "have said no is stalking. It is a crime and a pattern, not a misunderstanding."
                ),
                "Fear, poor sleep and being on guard are common reactions. Support helps.",
            ),
        ),
        (
            "Where to get support",
            (
                (
                    "A local victim advocate can assess risk with you, plan for safety and explain "
                    "legal options, whether or not you report. Ask us for a local contact."
                ),
                f"Learn more: {SPARC_WEBSITE}",
            ),
        ),
        (
            "Planning for safety",
            (
                "Think about warning signs, safe places, your daily routine and children.",
                "Agree a daily check-in message with someone you trust.",
                "Check who can see your phone, accounts and location.",
                "Plan 'If this happens, I will do that' steps and practise them.",
                "A plan lowers risk but cannot guarantee safety; update it as things change.",
            ),
        ),
        (
            "Keeping a record",
            (
                (
                    "Note the date, time, place (and any device or app), what happened, witnesses "
                    "and their contact details, evidence kept, and any report number."
                ),
                "Keep evidence such as messages, emails and gifts.",
                "Store the log somewhere the person cannot reach; keep copies in safe places.",
                "Leave out your feelings: anything given to police or a court may be seen.",
                f"Sample log: {SPARC_LOG_URL}",
            ),
        ),
        ("Hotlines (check local 24-hour lines first)", _hotline_lines()),
        (
            "About this handout",
            ("Adapted from SPARC (Stalking Prevention, Awareness, and Resource Center).",),
        ),
    ),
)

DISCREET = Handout(
    title="Appointment card",
    sections=(
        ("Your next appointment", ("Date: ____________", "Time: ____________")),
        (
            "Helpful numbers",
            (
                "Support line, weekdays: 1-855-484-2846",
                "Support line, any time: 1-800-799-7233, or text START to 88788",
                "Support line, any time: 1-800-656-4673",
                "Call or text 988, any time",
            ),
        ),
        (
            "Looking after yourself",
            (
                "Keep to regular sleep and meals where you can.",
                "Stay in touch with someone you trust.",
                "Call us if you need to change your appointment.",
            ),
        ),
    ),
)


def handout(kind: HandoutKind) -> Handout:
    """The plain or the discreet handout."""
    if kind == "plain":
        return PLAIN
    if kind == "discreet":
        return DISCREET
    raise ContentError(f"unknown handout kind {kind!r}")


def banned_words_in(text: str) -> list[str]:
    """Banned words found in ``text`` (case-insensitive)."""
    lowered = text.lower()
    return [word for word in DISCREET_BANNED_WORDS if word in lowered]


def _check() -> None:
    found = banned_words_in(DISCREET.all_text())
    if found:
        raise ContentError(f"the discreet handout names {found}")
    numbers = {line.phone for line in HOTLINES if line.phone}
    missing = [n for n in numbers if n not in DISCREET.all_text()]
    if missing:
        raise ContentError(f"the discreet handout lacks {missing}")


_check()
