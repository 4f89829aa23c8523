# SPDX-License-Identifier: Apache-2.0
"""Cross-module checks of the content, run once at import.

Every linkId is unique, every pre-mark points at a real screening item and uses that item's
answer codes, factor and time ids are unique, and the answers CodeSystem has one display per
code.
"""

from __future__ import annotations

from collections import Counter

from .education import DOCUMENTATION_LOG_FIELDS
from .education import EDUCATION_PROMPTS
from .fhir import SECTIONS
from .fhir import answer_codes
from .model import ContentError
from .model import Item
from .planning import SAFETY_PLAN
from .violence import DANGEROUS_TIMES
from .violence import RISK_DOMAINS


def screening_items() -> dict[str, Item]:
    """Every screening item by linkId (opening, SLII, fear, HARK)."""
    return {item.link_id: item for s in SECTIONS.values() for item in s.items}


def all_link_ids() -> list[str]:
    """Every linkId in the content, including follow-ups, group keys and help/intro ids."""
    ids: list[str] = []
    for section in SECTIONS.values():
        ids.extend((section.key, f"{section.key}.intro"))
        for item in section.items:
            ids.extend(item.all_link_ids)
            if item.help:
                ids.append(f"{item.link_id}.help")
    for plan in SAFETY_PLAN:
        ids.extend(item.link_id for item in plan.prompts)
    ids.extend(item.link_id for item in DOCUMENTATION_LOG_FIELDS)
    return ids


def _duplicates(values: list[str]) -> list[str]:
    return sorted(value for value, n in Counter(values).items() if n > 1)


def check() -> None:
    """Raise ContentError if the content breaks a cross-module rule."""
    dup = _duplicates(all_link_ids())
    if dup:
        raise ContentError(f"duplicate linkIds: {dup}")
    factors = [f for d in RISK_DOMAINS for f in d.factors] + list(DANGEROUS_TIMES)
    dup = _duplicates([f.id for f in factors])
    if dup:
        raise ContentError(f"duplicate factor ids: {dup}")
    dup = _duplicates([p.id for p in EDUCATION_PROMPTS])
    if dup:
        raise ContentError(f"duplicate education prompt ids: {dup}")
    items = screening_items()
    for factor in factors:
        for mark in factor.premarked_by:
            item = items.get(mark.link_id)
            if item is None:
                raise ContentError(f"{factor.id}: pre-mark on unknown item {mark.link_id}")
            if not mark.answers <= item.answer_codes:
                raise ContentError(f"{factor.id}: pre-mark answers not valid for {item.link_id}")
    answer_codes()


check()
