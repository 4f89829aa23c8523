# SPDX-License-Identifier: Apache-2.0
"""Acceptance: every risk factor, dangerous time, safety-planning element and documentation-log
field that the SPARC seed guide lists is present in the content.

Each seed list (in seed_map.toml) is cut out of the seed text between two markers and split on
its bullets. Every bullet must be claimed by at least one mapping row; every row's seed phrase
must really be in that list (so the mapping cannot drift from the seed); the row's content id
must exist in the content and its text must carry the row's content word. Elements named in running text are in
test_seed_prose.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugin import content
from tests.unit.plugin.content.seed_map import SEED_LISTS
from tests.unit.plugin.content.seed_map import Row

DOMAIN_OF_LIST = {
    "risk of continued or recurrent stalking": "continued",
    "risk of psychological and social harm": "harm",
    "risk of threats and violence": "violence",
}


def _bullets(seed: str, start: str, end: str) -> list[str]:
    begin = seed.find(start)
    assert begin >= 0, f"start marker not in the seed: {start!r}"
    stop = seed.find(end, begin + len(start))
    assert stop >= 0, f"end marker not after the start marker in the seed: {end!r}"
    parts = seed[begin + len(start) : stop].split("\u2022")[1:]
    return [part.strip() for part in parts if part.strip()]


@pytest.mark.parametrize(
    ("name", "start", "end", "rows"), SEED_LISTS, ids=[s[0] for s in SEED_LISTS]
)
def test_every_seed_bullet_is_covered(
    seed: str,
    covered: Callable[[str, str, str], None],
    name: str,
    start: str,
    end: str,
    rows: tuple[Row, ...],
) -> None:
    bullets = _bullets(seed, start, end)
    assert bullets, f"no bullets found for {name}"
    for phrase, _, _ in rows:
        assert any(phrase in bullet for bullet in bullets), (
            f"mapping phrase {phrase!r} is not in the seed's list '{name}'"
        )
    for bullet in bullets:
        assert any(phrase in bullet for phrase, _, _ in rows), (
            f"seed item under '{name}' is not mapped to content: {bullet[:90]!r}"
        )
    for row in rows:
        covered(*row)


def test_risk_lists_land_in_their_own_domain() -> None:
    domains: dict[str, set[str]] = {d.key: {f.id for f in d.factors} for d in content.RISK_DOMAINS}
    times = {t.id for t in content.DANGEROUS_TIMES}
    for name, _, _, rows in SEED_LISTS:
        for _, content_id, _ in rows:
            if name in DOMAIN_OF_LIST:
                assert content_id in domains[DOMAIN_OF_LIST[name]], (content_id, name)
            if name == "most dangerous times":
                assert content_id in times, content_id


def test_seed_list_sizes(seed: str) -> None:
    counts = {name: len(_bullets(seed, start, end)) for name, start, end, _ in SEED_LISTS}
    assert counts["risk of continued or recurrent stalking"] == 5
    assert counts["risk of psychological and social harm"] == 6
    assert counts["risk of threats and violence"] == 13
    assert counts["most dangerous times"] == 4
    assert counts["emotional safety planning"] == 7
    assert counts["financial safety planning"] == 8
    assert counts["support system"] == 8
    assert counts["documentation log fields"] == 5
    seed_times = sum(1 for t in content.DANGEROUS_TIMES if t.in_seed)
    assert seed_times >= counts["most dangerous times"]
