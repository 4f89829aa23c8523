# SPDX-License-Identifier: Apache-2.0
"""Acceptance, part 2: safety-planning elements, extra factors and times, education points and
hotlines that the SPARC seed guide names in running text rather than in bulleted lists (the
mapping is in seed_map.toml).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.unit.plugin.content.seed_map import SEED_PROSE


@pytest.mark.parametrize(
    ("phrase", "content_id", "word"), SEED_PROSE, ids=[f"{r[1]}:{r[2]}" for r in SEED_PROSE]
)
def test_seed_prose_elements_are_covered(
    seed: str, covered: Callable[[str, str, str], None], phrase: str, content_id: str, word: str
) -> None:
    assert phrase in seed, f"mapping phrase {phrase!r} is not in the seed"
    covered(phrase, content_id, word)
