# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the seed-coverage tests: the SPARC seed text and an index of the content.

The seed is read at test time from /work/shared/seeds, or from ../shared/seeds beside the
repository (the CI clone's layout). A missing seed fails the tests with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from plugin import content

SEED_GLOB = "004_*.txt"
REPO = Path(__file__).resolve().parents[4]
SEED_DIRS = (Path("/work/shared/seeds"), REPO.parent / "shared" / "seeds")

RowCheck = Callable[[str, str, str], None]


def normalise(text: str) -> str:
    """Straight quotes, plain dashes, single spaces, lower case."""
    for old, new in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(old, new)
    text = text.replace("\u2014", " - ").replace("\u2013", "-")
    return re.sub(r"\s+", " ", text).lower()


@pytest.fixture(scope="session")
def seed() -> str:
    for folder in SEED_DIRS:
        found = sorted(folder.glob(SEED_GLOB))
        if found:
            return normalise(found[0].read_text(encoding="utf-8"))
    pytest.fail(
        f"SPARC seed guide {SEED_GLOB} not found in {', '.join(str(d) for d in SEED_DIRS)}: "
        "the CI clone must have shared/seeds beside the repository"
    )


def _item_text(item: content.Item) -> str:
    choices = " ".join(display for _, display in item.choices)
    return f"{item.text} {item.help or ''} {choices}"


@pytest.fixture(scope="session")
def content_index() -> dict[str, str]:
    """Every content id with the text the clinician or client sees for it (lower case)."""
    index: dict[str, str] = {}
    for section in content.SECTIONS.values():
        index[section.key] = f"{section.title} {section.intro}"
        index.update({item.link_id: _item_text(item) for item in section.items})
    for plan in content.SAFETY_PLAN:
        index[f"plan.{plan.key}"] = f"{plan.title} {plan.intro}"
        index.update({item.link_id: _item_text(item) for item in plan.prompts})
    index.update({item.link_id: _item_text(item) for item in content.DOCUMENTATION_LOG_FIELDS})
    factors = [f for d in content.RISK_DOMAINS for f in d.factors] + list(content.DANGEROUS_TIMES)
    index.update({f.id: f"{f.text} {f.seed_basis}" for f in factors})
    index.update({p.id: p.text for p in content.EDUCATION_PROMPTS})
    index.update({p.id: p.text for p in content.ACTION_PROMPTS})
    for line in content.HOTLINES:
        index[f"hotline:{line.phone}"] = f"{line.name} {line.text or ''} {line.hours}"
    index["PRINT_SAFETY_QUESTION"] = content.PRINT_SAFETY_QUESTION
    return {key: value.lower() for key, value in index.items()}


@pytest.fixture(scope="session")
def covered(content_index: dict[str, str]) -> RowCheck:
    """Assert that a content id exists and its text says the given word."""

    def check(phrase: str, content_id: str, word: str) -> None:
        assert content_id in content_index, (
            f"content id {content_id!r} (for seed {phrase!r}) is missing"
        )
        assert word.lower() in content_index[content_id], (
            f"content {content_id!r} does not say {word!r} (for seed {phrase!r})"
        )

    return check
