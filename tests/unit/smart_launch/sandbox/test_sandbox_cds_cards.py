# SPDX-License-Identifier: Apache-2.0
"""Reading CDS Hooks cards: everything a card may carry is kept, anything malformed is refused."""

from __future__ import annotations

from typing import Any

import pytest

from smart_launch.sandbox.cds_cards import Card
from smart_launch.sandbox.cds_cards import CardLink
from smart_launch.sandbox.cds_cards import CardsInvalid
from smart_launch.sandbox.cds_cards import OverrideReason
from smart_launch.sandbox.cds_cards import parse_cards


def _card(**overrides: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": "c-1",
        "summary": "Verification required before changes",
        "indicator": "critical",
        "detail": "Ask the caller for the code word.\n**Then** continue.",
        "source": {"label": "Quietline", "url": "https://quietline.example/"},
        "links": [
            {
                "label": "Verify in Quietline",
                "url": "https://quietline.example/launch",
                "type": "smart",
                "appContext": '{"verify":{"appointment":"a-1","action":"book"}}',
            },
            {"label": "Admin guide", "url": "https://quietline.example/guide", "type": "absolute"},
        ],
        "overrideReasons": [
            {"code": "in-person", "system": "urn:example:reasons", "display": "Client is here"},
            {"code": "no-display"},
        ],
    }
    card.update(overrides)
    return {key: value for key, value in card.items() if value is not None}


def test_a_full_card_is_read_as_received() -> None:
    (card,) = parse_cards({"cards": [_card()]})
    assert card == Card(
        summary="Verification required before changes",
        indicator="critical",
        source_label="Quietline",
        uuid="c-1",
        detail="Ask the caller for the code word.\n**Then** continue.",
        source_url="https://quietline.example/",
        links=(
            CardLink(
                "Verify in Quietline",
                "https://quietline.example/launch",
                "smart",
                '{"verify":{"appointment":"a-1","action":"book"}}',
            ),
            CardLink("Admin guide", "https://quietline.example/guide", "absolute"),
        ),
        override_reasons=(
            OverrideReason("in-person", "urn:example:reasons", "Client is here"),
            OverrideReason("no-display", None, "no-display"),
        ),
    )
    assert card.links[0].is_smart
    assert not card.links[0].is_web
    assert card.links[1].is_web
    assert card.source_is_web
    assert card.override_reasons[0].coding() == {
        "code": "in-person",
        "display": "Client is here",
        "system": "urn:example:reasons",
    }
    assert card.override_reasons[1].coding() == {"code": "no-display", "display": "no-display"}


def test_a_minimal_card_and_no_cards() -> None:
    minimal = {"summary": "Note", "indicator": "info", "source": {"label": "Service"}}
    (card,) = parse_cards({"cards": [minimal]})
    assert (card.uuid, card.detail, card.links, card.override_reasons) == (None, None, (), ())
    assert not card.source_is_web
    assert parse_cards({"cards": []}) == ()


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,hi", "ftp://example.org/", "/relative"]
)
def test_only_http_absolute_links_are_web_links(url: str) -> None:
    (card,) = parse_cards(
        {"cards": [_card(links=[{"label": "x", "url": url, "type": "absolute"}])]}
    )
    assert not card.links[0].is_web
    (card,) = parse_cards({"cards": [_card(source={"label": "S", "url": url})]})
    assert not card.source_is_web


def test_an_app_context_on_an_absolute_link_is_dropped() -> None:
    link = {"label": "x", "url": "https://a.example/", "type": "absolute", "appContext": "{}"}
    (card,) = parse_cards({"cards": [_card(links=[link])]})
    assert card.links[0].app_context is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(None, id="null"),
        pytest.param([], id="list"),
        pytest.param({}, id="no-cards"),
        pytest.param({"cards": {}}, id="cards-object"),
        pytest.param({"cards": ["x"]}, id="card-string"),
        pytest.param({"cards": [_card(summary=None)]}, id="no-summary"),
        pytest.param({"cards": [_card(summary="")]}, id="empty-summary"),
        pytest.param({"cards": [_card(indicator="hard-stop")]}, id="bad-indicator"),
        pytest.param({"cards": [_card(indicator=None)]}, id="no-indicator"),
        pytest.param({"cards": [_card(source=None)]}, id="no-source"),
        pytest.param({"cards": [_card(source={"url": "https://x"})]}, id="no-source-label"),
        pytest.param({"cards": [_card(detail=7)]}, id="numeric-detail"),
        pytest.param({"cards": [_card(links={})]}, id="links-object"),
        pytest.param({"cards": [_card(links=[{"label": "x", "url": "u"}])]}, id="link-no-type"),
        pytest.param(
            {"cards": [_card(links=[{"label": "x", "url": "u", "type": "ftp"}])]}, id="link-type"
        ),
        pytest.param({"cards": [_card(links=[{"url": "u", "type": "smart"}])]}, id="link-no-label"),
        pytest.param({"cards": [_card(overrideReasons=[{"display": "x"}])]}, id="reason-no-code"),
        pytest.param({"cards": [_card(overrideReasons="x")]}, id="reasons-string"),
    ],
)
def test_malformed_answers_are_refused_whole(body: object) -> None:
    with pytest.raises(CardsInvalid):
        parse_cards(body)
