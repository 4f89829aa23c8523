# SPDX-License-Identifier: Apache-2.0
"""Word rules at enrollment: guessable words are refused with a plain reason."""

from __future__ import annotations

import pytest

from plugin.codeword import rules
from plugin.codeword.interfaces import PatientFacts
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.rules import common_words
from plugin.codeword.rules import word_problems

FACTS = PatientFacts(names=("Robin Ashdown", "Robbie"), birth_date="1987-03-14")
PROTOCOL = VerificationPolicy()


def problems(word: str, protocol: VerificationPolicy = PROTOCOL,
             facts: PatientFacts = FACTS) -> list[str]:  # fmt: skip
    return word_problems(word, word, protocol, facts)


@pytest.mark.parametrize("word", ["Lantern over Marsh", "copper kettle 42", "wintergreen owl"])
def test_acceptable_words(word: str) -> None:
    assert problems(word) == []


def test_entries_must_match() -> None:
    assert word_problems("Lantern over Marsh", "Lantern over Marsk", PROTOCOL, FACTS) == [
        rules.MISMATCH
    ]
    # Case and spacing do not count as a difference: the word is compared normalised.
    assert word_problems("Lantern over Marsh", " lantern OVER  marsh", PROTOCOL, FACTS) == []


def test_length_limits_follow_the_protocol() -> None:
    assert problems("kettle7") == ["Use at least 8 characters."]
    assert problems("kettle7", VerificationPolicy(min_length=6)) == []
    assert problems("copper kettle", VerificationPolicy(min_length=14)) == [
        "Use at least 14 characters."
    ]
    assert problems("quiet harbour " * 10) == [rules.TOO_LONG]


@pytest.mark.parametrize(
    "word", ["ashdown garden", "Robin's lantern", "ROBBIE1234xyz", "robinashdown"]
)
def test_client_names_are_refused(word: str) -> None:
    assert rules.NAME in problems(word)


def test_short_name_parts_alone_do_not_refuse() -> None:
    facts = PatientFacts(names=("Al Ng",))
    assert problems("salt and ngaio", facts=facts) == []
    assert rules.NAME in problems("lantern alng", facts=facts)


@pytest.mark.parametrize(
    "word",
    [
        "lantern 14031987",
        "lantern 03/14/1987",
        "lantern 14.3.87",
        "lantern 1987-03-14",
        "lantern 3-14-87",
        "lantern march14",
        "14 Mar lantern",
        "lantern 1987 owl",
        "lantern 1403 owl",
    ],
)
def test_birth_date_in_many_formats_is_refused(word: str) -> None:
    assert rules.BIRTH_DATE in problems(word)


def test_partial_birth_dates() -> None:
    assert rules.BIRTH_DATE in problems("lantern 031987", facts=PatientFacts(birth_date="1987-03"))
    assert rules.BIRTH_DATE in problems(
        "lantern march1987", facts=PatientFacts(birth_date="1987-03")
    )
    assert rules.BIRTH_DATE in problems("lantern 1987", facts=PatientFacts(birth_date="1987"))
    assert problems("lantern 2024 owl", facts=PatientFacts(birth_date="1987-03-14")) == []
    assert problems("lantern 1987 owl", facts=PatientFacts()) == []


@pytest.mark.parametrize(
    "word", ["password", "Password123!", "SunShine 2024", "iloveyou", "trustno1", "Football!!"]
)
def test_common_words_are_refused(word: str) -> None:
    assert rules.COMMON in problems(word)


def test_practice_refused_words() -> None:
    protocol = VerificationPolicy(refused_words=("Riverside", "Oak Clinic"))
    assert rules.REFUSED in problems("my riverside 7", protocol)
    assert rules.REFUSED in problems("OAKCLINIC", protocol)
    assert problems("my riverside 7") == []


@pytest.mark.parametrize(
    "word",
    [
        "aaaaaaaa",
        "12345678",
        "87654321",
        "abcdefgh",
        "qwertyui",
        "abcabcabc",
        "12121212",
        "Zz zz zz zz",
    ],
)
def test_repeats_and_sequences_are_refused(word: str) -> None:
    assert rules.PATTERN in problems(word)


def test_every_problem_is_reported_at_once() -> None:
    found = word_problems("robin1987", "robin 1987!", PROTOCOL, FACTS)
    assert found == [rules.MISMATCH, rules.NAME, rules.BIRTH_DATE]


def test_built_in_list_is_loaded_and_normalised() -> None:
    words = common_words()
    assert len(words) > 300
    assert {"password", "sunshine", "1q2w3e4r"} <= words
    assert all(word.isalnum() and word == word.lower() for word in words)


def test_messages_are_plain_and_neutral() -> None:
    messages = [rules.MISMATCH, rules.TOO_LONG, rules.NAME, rules.BIRTH_DATE, rules.COMMON,
                rules.REFUSED, rules.PATTERN]  # fmt: skip
    for message in messages:
        lowered = message.lower()
        assert not any(word in lowered for word in ("stalk", "abus", "violen", "danger", "threat"))
