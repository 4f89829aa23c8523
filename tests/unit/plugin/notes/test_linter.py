# SPDX-License-Identifier: Apache-2.0
"""Linter rules (a positive and a negative example per category) and the sign-off gate."""

from __future__ import annotations

import pytest

from plugin.notes import Finding
from plugin.notes import finding_id
from plugin.notes import lint
from plugin.notes import review
from plugin.notes.rules import CATEGORIES
from plugin.notes.rules import REASONS


def _flags(text: str) -> set[tuple[str, str]]:
    return {(f.category, f.excerpt) for f in lint(text)}


def _categories(text: str) -> set[str]:
    return {f.category for f in lint(text)}


POSITIVE = [
    ("person-name", "Client's sister Ana drove her to session.", "Ana"),
    ("person-name", "Coordinated with Dr. Lena Ford about medication.", "Dr. Lena Ford"),
    ("person-name", "Client says Jared has been kind to her.", "Jared"),
    ("address", "Client moved to 14 Oak Street, Apt 2B last month.", "14 Oak Street, Apt 2B"),
    ("address", "Client now lives on Wexford Court.", "Wexford Court"),
    ("phone", "New number is (555) 201-4477.", "(555) 201-4477"),
    ("email", "Write to k.doe@example.org only.", "k.doe@example.org"),
    ("place", "Client shops at Greenleaf Market weekly.", "Greenleaf Market"),
    ("place", "Client relocated to Glenwood.", "Glenwood"),
    ("incident-date", "It happened on 10/17 after work.", "10/17"),
    ("incident-date", "It happened March 3 at 7:30 p.m. again.", "7:30 p.m."),
    ("incident-date", "Seen again last Tuesday.", "last Tuesday"),
    ("emotional-detail", "Client was terrified and sobbing.", "terrified"),
    ("emotional-detail", "Client says she feels like a prisoner.", "feels like a prisoner"),
    ("harm-person-identifier", "Her ex-husband, Mark Ellison, called.", "ex-husband, Mark Ellison"),
    ("harm-person-identifier", "He drives a silver Toyota Camry.", "silver Toyota Camry"),
    ("harm-person-identifier", "Plate number 8JKT552 noted.", "8JKT552"),
    ("harm-person-identifier", "His account is @jay.r.77 on there.", "@jay.r.77"),
    (
        "service-location",
        "Client is at Harbor House shelter on Dock Street.",
        "Harbor House shelter on Dock Street",
    ),
    (
        "service-location",
        "Moved to a safe house in Westfield County.",
        "safe house in Westfield County",
    ),
    ("incident-narrative", "Her ex followed her to the car.", "followed her to the car"),
    ("incident-narrative", "She found a GPS tracker in the car.", "GPS tracker"),
    ("incident-narrative", "He threatened to kill her.", "threatened to kill her"),
]

NEGATIVE = [
    ("person-name", "Client identified a supportive sibling as a contact."),
    ("address", "Discussed keeping contact details current on file."),
    ("phone", "PHQ-9 score 14; GAD-7 score 12; CPT code 90837."),
    ("email", "Client prefers contact by the portal messages only."),
    ("place", "Session held in the clinic; client arrived from work."),
    ("incident-date", "Session date: 2026-11-21. Next appointment 2026-11-28."),
    ("emotional-detail", "F41.1 Generalized anxiety disorder; reports increased anxiety."),
    ("harm-person-identifier", "Client's ex has been in contact about the children."),
    ("service-location", "Referral to victim advocacy offered and accepted."),
    ("incident-narrative", "Client reports using grounding techniques between sessions."),
]


@pytest.mark.parametrize(("category", "text", "excerpt"), POSITIVE)
def test_positive(category: str, text: str, excerpt: str) -> None:
    assert (category, excerpt) in _flags(text), lint(text)


@pytest.mark.parametrize(("category", "text"), NEGATIVE)
def test_negative(category: str, text: str) -> None:
    assert category not in _categories(text), lint(text)


def test_finding_fields_and_reasons() -> None:
    text = "Client tearful. Call 555-410-2290."
    findings = lint(text)
    assert [f.category for f in findings] == ["emotional-detail", "phone"]
    for finding in findings:
        assert text[finding.start : finding.end] == finding.excerpt
        assert finding.reason == REASONS[finding.category]
    assert set(REASONS) == set(CATEGORIES)
    assert all(reason and "\n" not in reason for reason in REASONS.values())


def test_names_inside_stronger_spans_are_not_repeated() -> None:
    flags = _flags("Client's ex-partner Devon Price called her at work.")
    assert ("harm-person-identifier", "ex-partner Devon Price") in flags
    assert not any(c == "person-name" for c, _ in flags)


def test_cued_name_outranks_place_pattern() -> None:
    assert _flags("Met advocate Jen Park today.") == {("person-name", "Jen Park")}


def test_finding_id_is_normalised() -> None:
    assert finding_id("place", "  Greenleaf   MARKET. ") == "place:greenleaf market"
    assert Finding("place", 0, 3, "Abc", "r").id == "place:abc"


def test_review_blocks_until_removed_or_kept() -> None:
    text = "Client terrified. Ex-husband Paul called 555-410-2290."
    findings = lint(text)
    decision = review(text, findings, {})
    assert not decision.can_sign
    assert {f.category for f in decision.blocking} == {
        "emotional-detail",
        "harm-person-identifier",
        "phone",
    }
    keep = {f.id: "Needed for continuity of care." for f in findings}
    assert review(text, findings, keep).can_sign
    assert len(review(text, findings, keep).kept) == 3


def test_review_rejects_blank_reasons_and_partial_decisions() -> None:
    text = "Client terrified. Call 555-410-2290."
    findings = lint(text)
    phone = next(f for f in findings if f.category == "phone")
    decision = review(text, findings, {phone.id: "   "})
    assert not decision.can_sign
    assert phone in decision.blocking
    decision = review(text, findings, {phone.id: "Client's own safe number, by request."})
    assert [f.category for f in decision.blocking] == ["emotional-detail"]
    assert [f.category for f in decision.kept] == ["phone"]


def test_review_unblocks_when_text_is_edited() -> None:
    text = "Client terrified. Call 555-410-2290."
    findings = lint(text)
    decision = review("Safety screening completed.", findings, {})
    assert decision.can_sign
    assert decision.blocking == ()


def test_review_keeps_stale_finding_while_excerpt_remains() -> None:
    stale = Finding("person-name", 0, 4, "Zed", "r")
    assert not review("Spoke with Zed.", [stale], {}).can_sign
    assert review("Spoke with Zed.", [stale], {stale.id: "Treating provider."}).can_sign
