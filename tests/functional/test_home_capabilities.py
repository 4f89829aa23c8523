# SPDX-License-Identifier: Apache-2.0
"""The home page offers only what is built: every card links to a page that opens for the user."""

from __future__ import annotations

import html
import re

import pytest

from plugin.capabilities import CAPABILITIES
from smart_launch.sandbox.server import RunningSandbox
from tests.support.walker import Walker
from tests.support.walker import iframe_src

_CARD = re.compile(
    r'<li class="capability (?P<state>available|unavailable)" data-capability="(?P<key>[^"]+)">'
    r"(?P<body>.*?)</li>",
    re.DOTALL,
)
_LINK = re.compile(r'<a href="(?P<href>[^"]+)">')


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("therapist", {"screening", "notes", "codeword-enroll"}),
        ("frontdesk", {"codeword"}),
        ("admin", {"admin"}),
    ],
)
def test_every_card_on_the_home_page_opens_a_page_for_that_user(
    sandbox: RunningSandbox, user: str, expected: set[str]
) -> None:
    walker = Walker()
    chart = walker.get(f"{sandbox.url}/ehr/launch?patient=pat-1&user={user}")
    assert chart.status_code == 200, chart.text[:300]
    home = walker.get(iframe_src(chart.text))
    assert home.status_code == 200, home.text[:300]
    origin = "/".join(home.url.split("/")[:3])

    cards = {match["key"]: match for match in _CARD.finditer(home.text)}

    assert set(cards) == expected
    for key, card in cards.items():
        assert card["state"] == "available", key
        link = _LINK.search(card["body"])
        assert link is not None, f"the {key} card has no link"
        page = walker.get(origin + html.unescape(link["href"]))
        assert page.status_code == 200, (key, page.status_code, page.text[:300])


def test_no_card_names_a_feature_without_a_page(sandbox: RunningSandbox) -> None:
    unbuilt = ("Contact preferences", "Warm handoff", "retention", "service directory")
    pages = []
    for user in ("therapist", "frontdesk", "admin"):
        walker = Walker()
        chart = walker.get(f"{sandbox.url}/ehr/launch?patient=pat-1&user={user}")
        pages.append(walker.get(iframe_src(chart.text)).text)

    for page in pages:
        cards = " ".join(match["body"] for match in _CARD.finditer(page))
        assert cards
        for words in unbuilt:
            assert words not in cards
    assert all(capability.endpoint for capability in CAPABILITIES)
