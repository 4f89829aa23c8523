# SPDX-License-Identifier: Apache-2.0
"""Typed, frozen building blocks of Quietline's clinical content.

Every record checks itself when it is built, so a mistake in the data modules fails at import
time rather than on a clinician's screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

CONTENT_VERSION = "2026.11.0"
CANONICAL_BASE = "https://quietline.app/fhir"
ANSWER_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/answers"
LOINC_SYSTEM = "http://loinc.org"

ANSWERS: tuple[str, ...] = ("yes", "no", "unsure", "not-asked")
ANSWER_CHOICES: tuple[tuple[str, str], ...] = (
    ("yes", "Yes"),
    ("no", "No"),
    ("unsure", "Unsure"),
    ("not-asked", "Not asked"),
)
ANSWER_DISPLAY: dict[str, str] = dict(ANSWER_CHOICES)

FREQUENCIES: tuple[tuple[str, str], ...] = (
    ("daily", "Daily or more often"),
    ("weekly", "About weekly"),
    ("monthly", "About monthly"),
    ("less-often", "Less often than monthly"),
    ("once", "Once so far"),
)
RECENCIES: tuple[tuple[str, str], ...] = (
    ("past-week", "In the past week"),
    ("past-month", "In the past month"),
    ("past-3-months", "In the past 3 months"),
    ("longer-ago", "Longer ago"),
)

FACTOR_STATES: tuple[tuple[str, str], ...] = (
    ("present", "Present"),
    ("absent", "Absent"),
    ("unknown", "Unknown"),
)
CONCERN_LEVELS: tuple[tuple[str, str], ...] = (
    ("low", "Low"),
    ("moderate", "Moderate"),
    ("high", "High"),
)

Kind = Literal["answer", "choice", "text", "date"]
DomainKey = Literal["continued", "harm", "violence"]
HandoutKind = Literal["plain", "discreet"]

_KINDS = ("answer", "choice", "text", "date")
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")


class ContentError(ValueError):
    """The content data breaks one of its own rules (raised at import time)."""


def _check_id(value: str, what: str) -> None:
    if not _ID.fullmatch(value):
        raise ContentError(f"{what} {value!r} must be lower-case letters, digits, '.' and '-'")


def _check_text(value: str, what: str) -> None:
    if not value.strip():
        raise ContentError(f"{what} must not be empty")
    if not value.isascii():
        raise ContentError(f"{what} must be plain ASCII: {value[:40]!r}")


def frequency_link_id(link_id: str) -> str:
    """The linkId of the "how often" follow-up of a behaviour item."""
    return f"{link_id}.frequency"


def recency_link_id(link_id: str) -> str:
    """The linkId of the "how recently" follow-up of a behaviour item."""
    return f"{link_id}.recency"


@dataclass(frozen=True, slots=True)
class Item:
    """One question or prompt. ``kind`` "answer" uses ANSWERS; "choice" uses ``choices``."""

    link_id: str
    text: str
    help: str | None
    kind: Kind
    choices: tuple[tuple[str, str], ...] = ()
    asks_frequency: bool = False
    asks_recency: bool = False
    max_length: int = 500
    loinc: str | None = None

    def __post_init__(self) -> None:
        _check_id(self.link_id, "link_id")
        _check_text(self.text, f"text of {self.link_id}")
        if self.help is not None:
            _check_text(self.help, f"help of {self.link_id}")
        if self.kind not in _KINDS:
            raise ContentError(f"{self.link_id}: unknown kind {self.kind!r}")
        if (self.kind == "choice") != bool(self.choices):
            raise ContentError(f"{self.link_id}: choices are required for, and only for, 'choice'")
        codes = [code for code, _ in self.choices]
        if len(set(codes)) != len(codes):
            raise ContentError(f"{self.link_id}: duplicate choice codes")
        for code, display in self.choices:
            _check_text(code, f"choice code of {self.link_id}")
            _check_text(display, f"choice display of {self.link_id}")
        if (self.asks_frequency or self.asks_recency) and self.kind != "answer":
            raise ContentError(f"{self.link_id}: only 'answer' items ask how often or how recently")
        if self.max_length < 1:
            raise ContentError(f"{self.link_id}: max_length must be positive")

    @property
    def answer_codes(self) -> frozenset[str]:
        """The codes a response to this item may carry (empty for free text and dates)."""
        if self.kind == "answer":
            return frozenset(ANSWERS)
        return frozenset(code for code, _ in self.choices)

    @property
    def all_link_ids(self) -> tuple[str, ...]:
        """This item's linkId plus those of its how-often / how-recently follow-ups."""
        ids = [self.link_id]
        if self.asks_frequency:
            ids.append(frequency_link_id(self.link_id))
        if self.asks_recency:
            ids.append(recency_link_id(self.link_id))
        return tuple(ids)


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of items; one FHIR group item."""

    key: str
    title: str
    intro: str
    items: tuple[Item, ...]

    def __post_init__(self) -> None:
        _check_id(self.key, "section key")
        _check_text(self.title, f"title of {self.key}")
        _check_text(self.intro, f"intro of {self.key}")
        if not self.items:
            raise ContentError(f"section {self.key} has no items")


@dataclass(frozen=True, slots=True)
class PreMark:
    """A screening answer that already shows a risk factor; ``why`` is shown on screen."""

    link_id: str
    answers: frozenset[str]
    why: str

    def __post_init__(self) -> None:
        _check_id(self.link_id, "pre-mark link_id")
        if not self.answers:
            raise ContentError(f"pre-mark on {self.link_id} names no answers")
        _check_text(self.why, f"why of pre-mark on {self.link_id}")


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """A factor (or dangerous time) the clinician marks present / absent / unknown."""

    id: str
    text: str
    seed_basis: str
    premarked_by: tuple[PreMark, ...] = ()
    in_seed: bool = True

    def __post_init__(self) -> None:
        _check_id(self.id, "factor id")
        _check_text(self.text, f"text of {self.id}")
        _check_text(self.seed_basis, f"seed_basis of {self.id}")


@dataclass(frozen=True, slots=True)
class RiskDomain:
    """One of the three risk headings of the SPARC guide."""

    key: DomainKey
    title: str
    factors: tuple[RiskFactor, ...]

    def __post_init__(self) -> None:
        _check_text(self.title, f"title of {self.key}")
        if not self.factors:
            raise ContentError(f"risk domain {self.key} has no factors")


@dataclass(frozen=True, slots=True)
class ActionPrompt:
    """A suggested next step, shown when any of its triggers is active (never a threshold)."""

    id: str
    text: str
    triggers: tuple[str, ...]
    url: str | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, "action prompt id")
        _check_text(self.text, f"text of {self.id}")
        if not self.triggers:
            raise ContentError(f"action prompt {self.id} has no triggers")


@dataclass(frozen=True, slots=True)
class Hotline:
    """A national line. Numbers and hours must be verified locally before use."""

    name: str
    phone: str | None
    text: str | None
    url: str | None
    hours: str


@dataclass(frozen=True, slots=True)
class PlanSection:
    """One area of the safety plan the clinician works through with the client."""

    key: str
    title: str
    prompts: tuple[Item, ...]
    intro: str = ""

    def __post_init__(self) -> None:
        _check_id(self.key, "plan section key")
        _check_text(self.title, f"title of {self.key}")
        if not self.prompts:
            raise ContentError(f"plan section {self.key} has no prompts")


@dataclass(frozen=True, slots=True)
class Prompt:
    """An education or validation prompt for the clinician."""

    id: str
    text: str

    def __post_init__(self) -> None:
        _check_id(self.id, "prompt id")
        _check_text(self.text, f"text of {self.id}")


@dataclass(frozen=True, slots=True)
class Handout:
    """Printable handout: a title and (heading, lines) sections."""

    title: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]

    def all_text(self) -> str:
        """Every word on the handout, for checks."""
        parts = [self.title]
        for heading, lines in self.sections:
            parts.append(heading)
            parts.extend(lines)
        return "\n".join(parts)
