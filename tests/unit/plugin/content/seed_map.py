# SPDX-License-Identifier: Apache-2.0
"""The mapping from the SPARC seed guide to the content, read from seed_map.toml.

A row is (seed phrase, content id, content word). ``SEED_LISTS`` holds the bulleted lists, each
with the markers that cut it out of the seed text; ``SEED_PROSE`` the elements the seed names in
running text.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

Row = tuple[str, str, str]
SeedList = tuple[str, str, str, tuple[Row, ...]]

_MAP: dict[str, Any] = tomllib.loads(
    Path(__file__).with_name("seed_map.toml").read_text(encoding="utf-8")
)


def _rows(values: list[list[str]]) -> tuple[Row, ...]:
    return tuple((phrase, content_id, word) for phrase, content_id, word in values)


SEED_LISTS: tuple[SeedList, ...] = tuple(
    (entry["name"], entry["start"], entry["end"], _rows(entry["rows"])) for entry in _MAP["lists"]
)
SEED_PROSE: tuple[Row, ...] = _rows(_MAP["prose"])
