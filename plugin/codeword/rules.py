# SPDX-License-Identifier: Apache-2.0
"""Word rules checked at enrollment: a code word someone close to the client could guess is
refused with a plain-language reason.

Checks, on the :func:`~plugin.codeword.hashing.normalise`-d word: the two entries match; the
length is within the protocol's minimum and :data:`MAX_LENGTH`; the word does not contain the
client's names (any part of three letters or more) or birth date (in the usual numeric orders,
with or without separators and leading zeros, with the month spelled out, or the year alone);
the word, stripped of digits and symbols, is not a common word (the built-in list
``common_words.txt``) and does not contain a word the practice refused; and it is not one
repeated character, a short repeated pattern or a simple sequence (``12345678``, ``abcdefgh``,
``qwertyui``).
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from itertools import pairwise

from .hashing import normalise
from .interfaces import PatientFacts
from .interfaces import VerificationPolicy

__all__ = ["MAX_LENGTH", "common_words", "word_problems"]

MAX_LENGTH = 128

MISMATCH = "The two entries do not match. Type the same code word twice."
TOO_LONG = f"Use at most {MAX_LENGTH} characters."
NAME = "Do not use the client's name in the code word."
BIRTH_DATE = "Do not use the client's birth date, or part of it such as the year."
COMMON = "This is a common word that is easy to guess. Choose something less common."
REFUSED = "This practice does not allow this word. Choose something else."
PATTERN = (
    "Do not use one repeated character, a repeated pattern or a simple sequence "
    "such as 12345678 or abcdefgh."
)

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "qwertzuiop",
    "azertyuiop",
)
_MIN_NAME_PART = 3
_NON_WORD = re.compile(r"[\W_]+")
_NOT_LETTER = re.compile(r"[^\w]|[\d_]")


@cache
def common_words() -> frozenset[str]:
    """The built-in list of common words and passwords, normalised."""
    text = files(__package__).joinpath("common_words.txt").read_text(encoding="utf-8")
    words = (normalise(line) for line in text.splitlines())
    return frozenset(_compact(w) for w in words if w and not w.startswith("#"))


def _compact(text: str) -> str:
    """Letters and digits only (``"Blue-Heron 7"`` -> ``"blueheron7"``)."""
    return _NON_WORD.sub("", text)


def _letters(text: str) -> str:
    return _NOT_LETTER.sub("", text)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdecimal())


def _has_name(compact: str, facts: PatientFacts) -> bool:
    for name in facts.names:
        parts = [_compact(p) for p in re.split(r"[\s\-'.,]+", normalise(name))]
        whole = _compact(normalise(name))
        candidates = [p for p in parts if len(p) >= _MIN_NAME_PART]
        if len(whole) >= _MIN_NAME_PART:
            candidates.append(whole)
        if any(candidate in compact for candidate in candidates):
            return True
    return False


def _date_forms(birth_date: str) -> tuple[set[str], set[str]]:
    """(digit strings, letter-and-digit strings) a word must not contain."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", birth_date.strip())
    if match is None:
        return set(), set()
    year, month, day = match.groups()
    numeric = {year}
    spelled: set[str] = set()
    if month is None or not 1 <= int(month) <= 12:
        return numeric, spelled
    short = year[2:]
    name = _MONTHS[int(month) - 1]
    names = (name, name[:3])
    if day is None:
        numeric |= {year + month, month + year, month + short}
        spelled |= {n + year for n in names} | {year + n for n in names}
        return numeric, spelled
    numeric |= {day + month, month + day}
    for d in {day, str(int(day))}:
        for m in {month, str(int(month))}:
            for y in (year, short):
                numeric |= {d + m + y, m + d + y, y + m + d}
        for n in names:
            spelled |= {d + n, n + d}
    return numeric, spelled


def _has_birth_date(compact: str, facts: PatientFacts) -> bool:
    if not facts.birth_date:
        return False
    numeric, spelled = _date_forms(facts.birth_date)
    digits = _digits(compact)
    return any(form in digits for form in numeric) or any(form in compact for form in spelled)


def _is_common(compact: str, protocol: VerificationPolicy) -> tuple[bool, bool]:
    """(common word, refused by the practice)."""
    letters = _letters(compact)
    common = common_words()
    is_common = compact in common or (bool(letters) and letters in common)
    refused = False
    for raw in protocol.refused_words:
        word = _compact(normalise(raw))
        if not word:
            continue
        if word in {compact, letters} or (len(word) >= _MIN_NAME_PART and word in compact):
            refused = True
    return is_common, refused


def _is_pattern(compact: str) -> bool:
    if not compact:
        return False
    if len(set(compact)) == 1:
        return True
    for size in (2, 3):  # "abab...", "abcabc..."
        unit = compact[:size]
        if len(compact) >= 2 * size and (unit * len(compact))[: len(compact)] == compact:
            return True
    for sequence in _SEQUENCES:
        if compact in sequence or compact in sequence[::-1]:
            return True
    steps = {ord(b) - ord(a) for a, b in pairwise(compact)}
    return len(steps) == 1 and steps <= {1, -1}


def word_problems(
    word: str, confirm: str, protocol: VerificationPolicy, facts: PatientFacts
) -> list[str]:
    """Plain-language reasons to refuse ``word``; an empty list means it is acceptable.

    :param word: the word as typed.
    :param confirm: the second entry.
    :param protocol: the tenant's protocol (minimum length, refused words).
    :param facts: the client's names and birth date, read live from the EHR.
    """
    problems: list[str] = []
    normal = normalise(word)
    if normal != normalise(confirm):
        problems.append(MISMATCH)
    if len(normal) < protocol.min_length:
        problems.append(f"Use at least {protocol.min_length} characters.")
    elif len(normal) > MAX_LENGTH:
        problems.append(TOO_LONG)
    compact = _compact(normal)
    if _has_name(compact, facts):
        problems.append(NAME)
    if _has_birth_date(compact, facts):
        problems.append(BIRTH_DATE)
    is_common, refused = _is_common(compact, protocol)
    if is_common:
        problems.append(COMMON)
    if refused:
        problems.append(REFUSED)
    if _is_pattern(compact):
        problems.append(PATTERN)
    return problems
