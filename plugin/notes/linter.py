# SPDX-License-Identifier: Apache-2.0
"""Over-documentation linter for the minimal note, and the sign-off gate.

:func:`lint` flags text a curious reader, a subpoena or the person causing harm could use
against the client: names, addresses, phone numbers, emails, places, incident dates,
emotional detail, identifiers of the person causing harm, shelter or agency locations and
incident narratives.  :func:`review` blocks signing until each flag is removed from the text
or kept with a reason.  The heuristics are described in ``docs/notes-linter.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from . import rules

__all__ = ["Finding", "SignDecision", "finding_id", "lint", "review"]

Span = tuple[str, int, int]

_SENTENCE = re.compile(r"(?:[^.!?\n]|\.(?=\s*[a-z\d])|(?<=\b[A-Z][a-z])\.|(?<=\bSt)\.)+")
_TOKEN_NAME = re.compile(rf"\b{rules.NAME}(?:\s+{rules.NAME})?")
_TOWN_AFTER = re.compile(rf"\A,\s+(?!(?i:apt|apartment|unit|suite)\b)({rules.CAP_SEQ})")
_EMPLOYER = re.compile(
    rf"\b(?:works|worked|working|employed)\s+(?:[A-Za-z]+\s+){{0,3}}?(?:at|for|by)\s+({rules.CAP_SEQ})"
)
_WORKPLACE = re.compile(
    rf"\b(?:workplace|employer|job|office|school|daycare|gym|church|building),?\s+(?:at\s+)?"
    rf"({rules.CAP_SEQ})"
)
_JOB_OF_HARM = re.compile(
    r"\b(?:a|an)\s+(?:deputy|officer|trooper|agent|guard|nurse|teacher|coach|pastor|manager)\s+"
    r"(?:with|at|for|of)\s+(?:the\s+)?[\w' ]{0,40}?(?:office|department|police|school|church)\b",
    re.IGNORECASE,
)
_CLIENT_SUBJECT = re.compile(r"\b(?:client|pt|cl|she|i|patient)\W*$", re.IGNORECASE)
# Names found through a cue ("advocate Jen Park") outrank a place pattern ("... Park");
# they are reported as person-name.
_CUED = "person-name (cued)"
_RANK = {
    "harm-person-identifier": 4,
    "service-location": 4,
    _CUED: 3,
    "place": 2,
    "address": 2,
    "person-name": 1,
}


@dataclass(frozen=True)
class Finding:
    """One flagged span of a note.

    :param category: one of :data:`plugin.notes.rules.CATEGORIES`.
    :param start: offset of the first character in the linted text.
    :param end: offset just past the last character.
    :param excerpt: ``text[start:end]``.
    :param reason: one-line reason shown to the clinician.
    """

    category: str
    start: int
    end: int
    excerpt: str
    reason: str

    @property
    def id(self) -> str:
        """Stable id (category and normalised excerpt) used to record keep decisions."""
        return finding_id(self.category, self.excerpt)


@dataclass(frozen=True)
class SignDecision:
    """Outcome of :func:`review`: whether the note may be signed and what blocks it."""

    can_sign: bool
    blocking: tuple[Finding, ...]
    kept: tuple[Finding, ...]


def _normalise(excerpt: str) -> str:
    return " ".join(excerpt.casefold().split()).strip(" .,;:()\"'")


def finding_id(category: str, excerpt: str) -> str:
    """Return the stable id of a finding: ``"<category>:<normalised excerpt>"``."""
    return f"{category}:{_normalise(excerpt)}"


def _is_stop(token: str) -> bool:
    return token.casefold().rstrip(".") in rules.STOPWORDS


def _strip_stops(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim leading and trailing stopword tokens from ``text[start:end]``."""
    tokens = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    while tokens and _is_stop(text[tokens[0][0] : tokens[0][1]]):
        tokens.pop(0)
    while tokens and _is_stop(text[tokens[-1][0] : tokens[-1][1]]):
        tokens.pop()
    return (tokens[0][0], tokens[-1][1]) if tokens else None


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text)]


def _sentence_of(sentences: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    return next(((s, e) for s, e in sentences if s <= pos < e), (pos, pos))


def _group_span(match: re.Match[str]) -> tuple[int, int]:
    if match.re.groups and match.group(1) is not None:
        return match.span(1)
    return match.span()


def _pattern_spans(text: str) -> list[Span]:
    """Findings that need no context beyond their own pattern."""
    table: list[tuple[str, Iterable[re.Pattern[str]]]] = [
        ("phone", (rules.PHONE,)),
        ("email", (rules.EMAIL,)),
        ("harm-person-identifier", rules.HARM_IDS),
        ("address", rules.ADDRESSES),
        ("place", rules.PLACES),
        ("emotional-detail", (rules.EMOTION,)),
        ("incident-narrative", rules.NARRATIVES),
    ]
    spans: list[Span] = []
    for category, patterns in table:
        for pattern in patterns:
            spans.extend((category, *_group_span(m)) for m in pattern.finditer(text))
    for pattern in rules.DATES:
        spans.extend(
            ("incident-date", *m.span())
            for m in pattern.finditer(text)
            if not rules.ALLOWED_DATE_PREFIX.search(text[max(0, m.start() - 40) : m.start()])
        )
    addresses = [end for category, _, end in spans if category == "address"]
    towns = ((end, _TOWN_AFTER.match(text[end:])) for end in addresses)
    spans.extend(("place", end + t.start(1), end + t.end(1)) for end, t in towns if t)
    return spans


def _service_spans(text: str) -> list[Span]:
    """Named or located shelters and advocacy services, with any trailing location."""
    spans: list[Span] = []
    for m in rules.SERVICES[0].finditer(text):
        tail = rules.SERVICE_TAIL.match(text[m.end() :])
        end = m.end() + (tail.end() if tail else 0)
        if (name := _strip_stops(text, *m.span(1))) is not None:
            spans.append(("service-location", name[0], end))
        elif tail or text[m.end(1)].isupper():
            spans.append(("service-location", m.end(1), end))
    for m in rules.SERVICES[1].finditer(text):
        tail = rules.SERVICE_TAIL.match(text[m.end() :])
        spans.append(("service-location", m.start(), m.end() + (tail.end() if tail else 0)))
    return spans


def _harm_spans(text: str, narrative_sentences: set[tuple[int, int]]) -> list[Span]:
    """Names and employers tied to the person causing harm by a cue word."""
    sentences = _sentences(text)
    spans: list[Span] = []
    harm_sentences: set[tuple[int, int]] = set()
    for m in rules.HARM_CUE.finditer(text):
        harm_sentences.add(_sentence_of(sentences, m.start()))
        link = rules.CUE_LINK.match(text[m.end() :])
        if link and not _is_stop(link.group("name").split()[0]):
            spans.append(("harm-person-identifier", m.start(), m.end() + link.end()))
    for m in rules.PERSON_CUE.finditer(text):
        cue = rules.PARTNER_CUE.match(text, m.start())
        if cue and _sentence_of(sentences, m.start()) in narrative_sentences:
            spans.append(("harm-person-identifier", m.start(), m.end(1)))
            harm_sentences.add(_sentence_of(sentences, m.start()))
    for m in _EMPLOYER.finditer(text):
        sentence = _sentence_of(sentences, m.start())
        client = _CLIENT_SUBJECT.search(text[max(sentence[0], m.start() - 12) : m.start()])
        harm = sentence in harm_sentences and not client
        spans.append(("harm-person-identifier" if harm else "place", *m.span(1)))
    spans.extend(
        ("harm-person-identifier", *m.span())
        for m in _JOB_OF_HARM.finditer(text)
        if _sentence_of(sentences, m.start()) in harm_sentences
    )
    return spans


def _name_spans(text: str) -> list[Span]:
    """Personal names: honorifics, relationship cues and a list of common given names."""
    spans: list[Span] = [(_CUED, *m.span()) for m in rules.HONORIFIC.finditer(text)]
    cued = (m for p in (rules.PERSON_CUE, rules.APPOSITIVE_NAME) for m in p.finditer(text))
    trimmed = (_strip_stops(text, *m.span(1)) for m in cued)
    spans.extend((_CUED, *t) for t in trimmed if t is not None)
    spans.extend(
        ("person-name", *(_strip_stops(text, *m.span()) or m.span()))
        for m in _TOKEN_NAME.finditer(text)
        if m.group(0).split()[0] in rules.GIVEN_NAMES
    )
    return spans


def _prep_place_spans(text: str) -> list[Span]:
    """Capitalised words after a locative preposition ("in Glenwood", "at Harlow's")."""
    spans: list[Span] = []
    for m in rules.PLACE_AFTER_PREP.finditer(text):
        first = m.group(1).split()[0]
        if _is_stop(first) or first in rules.GIVEN_NAMES:
            continue
        if (trimmed := _strip_stops(text, *m.span(1))) is not None:
            spans.append(("place", *trimmed))
    spans.extend(("place", *m.span(1)) for m in _WORKPLACE.finditer(text))
    return spans


def _resolve(spans: list[Span]) -> list[Span]:
    """Merge overlapping spans of one category; drop names and places inside stronger spans."""
    merged: list[Span] = []
    for category, start, end in sorted(spans, key=lambda s: (s[0], s[1], -s[2])):
        if merged and merged[-1][0] == category and start < merged[-1][2]:
            merged[-1] = (category, merged[-1][1], max(end, merged[-1][2]))
        else:
            merged.append((category, start, end))
    kept: list[Span] = []
    for category, start, end in merged:
        rank = _RANK.get(category, 0)
        stronger = any(
            _RANK.get(other, 0) > rank and o_start < end and start < o_end
            for other, o_start, o_end in merged
        )
        if not (rank and stronger):
            kept.append((category, start, end))
    return sorted(kept, key=lambda s: (s[1], s[2], s[0]))


def lint(text: str) -> list[Finding]:
    """Flag over-documentation in a note.

    :param text: the note as the clinician edited it.
    :returns: findings ordered by position; empty when the note is minimal.
    """
    spans = _pattern_spans(text) + _service_spans(text)
    sentences = _sentences(text)
    narrative = {_sentence_of(sentences, s) for c, s, _ in spans if c == "incident-narrative"}
    spans += _harm_spans(text, narrative) + _name_spans(text) + _prep_place_spans(text)
    return [
        Finding(name, start, end, text[start:end], rules.REASONS[name])
        for category, start, end in _resolve(spans)
        for name in ("person-name" if category == _CUED else category,)
    ]


def review(text: str, findings: Iterable[Finding], decisions: Mapping[str, str]) -> SignDecision:
    """Decide whether a note may be signed.

    A finding blocks signing while its excerpt is still in ``text`` (or the linter still
    flags it) and no non-empty keep reason is recorded for its :attr:`Finding.id`.

    :param text: the current note text.
    :param findings: findings shown to the clinician earlier (they may be stale).
    :param decisions: keep reasons keyed by finding id.
    :returns: the decision, listing blocking and kept findings.
    """
    current = {f.id: f for f in lint(text)}
    folded = " ".join(text.casefold().split())
    for finding in findings:
        if finding.id not in current and _normalise(finding.excerpt) in folded:
            current[finding.id] = finding
    blocking = tuple(f for f in current.values() if not decisions.get(f.id, "").strip())
    kept = tuple(f for f in current.values() if decisions.get(f.id, "").strip())
    return SignDecision(can_sign=not blocking, blocking=blocking, kept=kept)
