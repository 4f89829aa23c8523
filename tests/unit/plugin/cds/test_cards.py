# SPDX-License-Identifier: Apache-2.0
"""The card's wording rules and self-checking card ids."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest

from plugin.cds.cards import SUMMARY
from plugin.cds.cards import UNSAID as CODE_UNSAID
from plugin.cds.cards import CardIds
from plugin.cds.cards import verification_card
from tests.unit.plugin.cds.support import UNSAID
from tests.unit.plugin.cds.support import assert_no_empty
from tests.unit.plugin.cds.support import card_texts


@pytest.fixture
def ids() -> CardIds:
    return CardIds(secrets.token_bytes(32))


def test_the_summary_is_short_and_neutral() -> None:
    card = verification_card("u", "https://q.example/launch", "apt-1", "book")

    assert len(SUMMARY) < 140
    for text in card_texts(card):
        assert text
        lowered = text.lower()
        assert [stem for stem in UNSAID if stem in lowered] == [], text


def test_the_code_refuses_at_least_the_words_the_tests_refuse() -> None:
    assert set(UNSAID) <= set(CODE_UNSAID)


def test_the_card_has_no_nulls_or_empty_values() -> None:
    card = verification_card("u", "https://q.example/launch", None, "cancel")

    assert_no_empty(card)
    assert json.loads(card["links"][0]["appContext"]) == {"verify": {"action": "cancel"}}


def test_an_issued_id_is_a_uuid_that_checks(ids: CardIds) -> None:
    card = ids.issue("ehr")

    assert uuid.UUID(card).version == 8
    assert ids.is_ours("ehr", card)
    assert ids.issue("ehr") != card


def test_ids_are_bound_to_the_tenant_and_the_key(ids: CardIds) -> None:
    card = ids.issue("ehr")

    assert not ids.is_ours("other", card)
    assert not CardIds(secrets.token_bytes(32)).is_ours("ehr", card)


def test_a_changed_id_does_not_check(ids: CardIds) -> None:
    card = ids.issue("ehr")
    flipped = card[:-1] + ("0" if card[-1] != "0" else "1")
    nonce_changed = ("0" if card[0] != "0" else "1") + card[1:]

    assert not ids.is_ours("ehr", flipped)
    assert not ids.is_ours("ehr", nonce_changed)


@pytest.mark.parametrize("value", ["", "not-a-uuid", str(uuid.uuid4())])
def test_foreign_values_do_not_check(ids: CardIds, value: str) -> None:
    assert not ids.is_ours("ehr", value)
