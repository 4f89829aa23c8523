# SPDX-License-Identifier: Apache-2.0
"""Structure, FHIR validity, licence and discretion rules of the clinical content."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from plugin import content
from plugin.content.integrity import all_link_ids
from tests.support.answers import BANNED

REPO = Path(__file__).resolve().parents[4]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name))
    elif isinstance(value, tuple | list | frozenset | set):
        for element in value:
            yield from _strings(element)


def _all_text() -> str:
    parts: list[str] = []
    for value in (
        content.OPENING,
        content.SLII,
        content.FEAR,
        content.HARK,
        content.RISK_DOMAINS,
        content.DANGEROUS_TIMES,
        content.ACTION_PROMPTS,
        content.SAFETY_PLAN,
        content.IF_THEN_EXAMPLES,
        content.DOCUMENTATION_LOG_FIELDS,
        content.EDUCATION_PROMPTS,
        content.handout("plain"),
        content.handout("discreet"),
        content.SPJ_LABEL,
    ):
        parts.extend(_strings(value))
    return "\n".join(parts).lower()


def _fhir_link_ids(items: list[dict[str, object]]) -> Iterator[str]:
    for item in items:
        yield str(item["linkId"])
        children = item.get("item")
        if isinstance(children, list):
            yield from _fhir_link_ids(children)


def test_version_and_canonical_base() -> None:
    assert content.CONTENT_VERSION == "2026.11.0"
    assert content.CANONICAL_BASE == "https://quietline.app/fhir"
    assert content.ANSWERS == ("yes", "no", "unsure", "not-asked")
    assert [code for code, _ in content.ANSWER_CHOICES] == list(content.ANSWERS)
    assert {code for code, _ in content.FREQUENCIES} >= {"daily", "weekly", "monthly", "once"}
    assert {code for code, _ in content.RECENCIES} >= {"past-week", "past-month", "longer-ago"}


def test_questionnaires_validate_and_carry_url_and_version() -> None:
    found = content.all_questionnaires()
    assert [q.id for q in found] == ["opening", "slii-screening", "fear", "hark"]
    for q in found:
        assert isinstance(q, Questionnaire)
        assert q.url == f"https://quietline.app/fhir/Questionnaire/{q.id}"
        assert q.version == "2026.11.0"
        assert q.status == "active"
        assert q.name
        assert q.title
        again = Questionnaire.model_validate(q.model_dump(mode="json"))
        assert again.url == q.url
        link_ids = list(_fhir_link_ids(q.model_dump(mode="json")["item"]))
        assert len(link_ids) == len(set(link_ids)), f"{q.id} repeats a linkId"


def test_questionnaire_by_section_keys() -> None:
    slii = content.questionnaire(("surveillance", "life-invasion", "intimidation", "interference"))
    assert slii.id == "slii-screening"
    assert [group.linkId for group in slii.item or []] == [s.key for s in content.SLII]
    assert content.questionnaire(["opening"]).id == "opening"
    assert content.questionnaire("fear").id == "fear"
    with pytest.raises(ValueError, match="no Questionnaire"):
        content.questionnaire(("fear", "opening"))


def test_item_types_and_answer_options() -> None:
    q = content.questionnaire("opening").model_dump(mode="json")
    items = {item["linkId"]: item for item in q["item"][0]["item"]}
    contact = items["opening.contact"]
    assert contact["type"] == "choice"
    codings = [option["valueCoding"] for option in contact["answerOption"]]
    assert [c["code"] for c in codings] == list(content.ANSWERS)
    assert {c["system"] for c in codings} == {"https://quietline.app/fhir/CodeSystem/answers"}
    relationship = {o["valueCoding"]["code"] for o in items["opening.relationship"]["answerOption"]}
    assert relationship == {
        "ex-partner",
        "partner",
        "family",
        "acquaintance",
        "co-worker",
        "neighbour",
        "stranger",
        "unknown",
    }
    fear = content.questionnaire("fear").model_dump(mode="json")["item"][0]["item"]
    own_words = next(item for item in fear if item["linkId"] == "fear.own-words")
    assert own_words["type"] == "text"
    assert own_words["maxLength"] == 1000


def test_behaviour_items_ask_how_often_and_how_recently() -> None:
    for section in content.SLII:
        behaviours = [item for item in section.items if item.asks_frequency]
        assert len(behaviours) >= 4, section.key
        assert all(item.kind == "answer" and item.asks_recency for item in behaviours)
    q = content.questionnaire("slii-screening").model_dump(mode="json")
    following = next(
        item for item in q["item"][0]["item"] if item["linkId"] == "surveillance.following"
    )
    children = {child["linkId"]: child for child in following["item"]}
    frequency = children[content.frequency_link_id("surveillance.following")]
    assert [o["valueCoding"]["code"] for o in frequency["answerOption"]] == [
        code for code, _ in content.FREQUENCIES
    ]
    assert frequency["enableWhen"][0]["question"] == "surveillance.following"
    assert content.recency_link_id("surveillance.following") in children


def test_slii_sections_and_clinic_impersonation_item() -> None:
    assert [s.key for s in content.SLII] == [
        "surveillance",
        "life-invasion",
        "intimidation",
        "interference",
    ]
    texts = {item.link_id: item.text.lower() for s in content.SLII for item in s.items}
    assert "clinic" in texts["life-invasion.posing-as-client"]
    assert "pretending to be" in texts["life-invasion.posing-as-client"]


def test_fear_help_says_record_even_when_calm() -> None:
    item = next(i for i in content.FEAR.items if i.link_id == "fear.physical-harm")
    assert item.help is not None
    assert "even when they appear calm" in item.help
    assert any(i.kind == "text" for i in content.FEAR.items)


def test_hark_items_carry_loinc() -> None:
    assert [item.loinc for item in content.HARK.items] == [
        "76500-8",
        "76501-6",
        "76502-4",
        "76503-2",
    ]
    q = content.questionnaire("hark").model_dump(mode="json")
    assert q["code"][0] == {"system": "http://loinc.org", "code": "76499-3"}
    group = q["item"][0]
    assert group["code"][0]["code"] == "76499-3"
    questions = [item for item in group["item"] if item["type"] == "choice"]
    assert [item["code"][0]["code"] for item in questions] == [
        "76500-8",
        "76501-6",
        "76502-4",
        "76503-2",
    ]
    for item in questions:
        codes = {
            (o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in item["answerOption"]
        }
        assert codes == {("http://loinc.org", "LA33-6"), ("http://loinc.org", "LA32-8")}


def test_every_link_id_is_unique() -> None:
    ids = all_link_ids()
    repeated = [value for value, n in Counter(ids).items() if n > 1]
    assert not repeated
    assert "opening.contact" in ids


def test_every_premark_refers_to_a_real_item_and_valid_answers() -> None:
    items = content.screening_items()
    factors = [f for d in content.RISK_DOMAINS for f in d.factors] + list(content.DANGEROUS_TIMES)
    marks = [(factor, mark) for factor in factors for mark in factor.premarked_by]
    assert len(marks) >= 30
    for factor, mark in marks:
        assert mark.link_id in items, (factor.id, mark.link_id)
        assert mark.answers <= items[mark.link_id].answer_codes, (factor.id, mark.answers)
        assert mark.why.startswith("Marked because"), factor.id


def test_factor_ids_are_unique_and_domains_complete() -> None:
    assert [d.key for d in content.RISK_DOMAINS] == ["continued", "harm", "violence"]
    ids = [f.id for d in content.RISK_DOMAINS for f in d.factors]
    ids += [t.id for t in content.DANGEROUS_TIMES]
    assert len(ids) == len(set(ids))
    harm = {f.id for f in content.RISK_DOMAINS[1].factors}
    assert "harm.suicidal-thoughts" in harm


def test_spj_label() -> None:
    assert content.SPJ_LABEL.startswith("Structured professional judgement aid")
    assert "never a score" in content.SPJ_LABEL


def test_every_trigger_is_known() -> None:
    known = content.known_trigger_ids()
    for prompt in content.ACTION_PROMPTS:
        assert set(prompt.triggers) <= known, prompt.id
    ids = {p.id for p in content.ACTION_PROMPTS}
    assert ids >= {
        "advocate-handoff",
        "sharp-link",
        "hotlines",
        "suicide-follow-up",
        "portal-proxy-review",
        "code-word",
        "notification-suppression",
    }
    sharp = next(p for p in content.ACTION_PROMPTS if p.id == "sharp-link")
    assert sharp.url == "https://www.sharp.stalkingawareness.org/"


def test_prompts_follow_marks_not_thresholds() -> None:
    assert content.prompts_for(set(), None) == []
    suicide = [p.id for p in content.prompts_for({"harm.suicidal-thoughts"}, None)]
    assert "suicide-follow-up" in suicide
    assert "sharp-link" not in suicide
    violence = [p.id for p in content.prompts_for({"violence.weapons"}, None)]
    assert {"sharp-link", "advocate-handoff", "firearms"} <= set(violence)
    time_only = [p.id for p in content.prompts_for({"time.release"}, None)]
    assert "dangerous-time" in time_only
    high = [p.id for p in content.prompts_for(set(), "high")]
    assert {"advocate-handoff", "suicide-follow-up", "sharp-link"} <= set(high)
    low = [p.id for p in content.prompts_for(set(), "low")]
    assert "sharp-link" not in low
    order = [p.id for p in content.ACTION_PROMPTS]
    assert high == [pid for pid in order if pid in high]


def test_prompts_for_rejects_unknown_ids_and_levels() -> None:
    with pytest.raises(ValueError, match="unknown risk factor"):
        content.prompts_for({"violence.nope"}, None)
    with pytest.raises(ValueError, match="unknown concern"):
        content.prompts_for(set(), "severe")


def test_hotlines() -> None:
    phones = {line.phone: line for line in content.HOTLINES}
    assert set(phones) == {"1-855-484-2846", "1-800-799-7233", "1-800-656-4673", "988"}
    assert phones["1-800-799-7233"].text == "Text START to 88788"
    assert "988" in (phones["988"].text or "")


def test_safety_plan_sections() -> None:
    assert [p.key for p in content.SAFETY_PLAN] == [
        "physical",
        "emotional",
        "financial",
        "support-system",
        "technology",
        "ehr-contacts",
    ]
    ehr = next(p for p in content.SAFETY_PLAN if p.key == "ehr-contacts")
    assert any(i.text == "Is any of these the person causing harm?" for i in ehr.prompts)
    assert len(content.IF_THEN_EXAMPLES) >= 4
    assert all(when and then for when, then in content.IF_THEN_EXAMPLES)


def test_print_question_and_log_kept_outside_record() -> None:
    assert content.PRINT_SAFETY_QUESTION == "Is it safe for you to take printed material home?"
    log = next(p for p in content.EDUCATION_PROMPTS if p.id == "log-outside-record")
    assert "OUTSIDE the clinic record" in log.text


@pytest.mark.parametrize("word", [*BANNED, "assault", "rape", "threat"])
def test_discreet_handout_names_nothing(word: str) -> None:
    assert word not in content.handout("discreet").all_text().lower()


def test_discreet_handout_has_helpful_numbers() -> None:
    card = content.handout("discreet")
    headings = [heading for heading, _ in card.sections]
    assert "Helpful numbers" in headings
    text = card.all_text()
    for phone in ("1-855-484-2846", "1-800-799-7233", "88788", "1-800-656-4673", "988"):
        assert phone in text


def test_plain_handout_has_resources_plan_log_and_hotlines() -> None:
    text = content.handout("plain").all_text().lower()
    for needle in ("advocate", "daily check-in", "keeping a record", "1-800-799-7233", "sparc"):
        assert needle in text
    with pytest.raises(ValueError, match="unknown handout"):
        content.handout("loud")  # type: ignore[arg-type]


SDASH_PHRASES = (
    "very frightened",
    "turn up unannounced",
    "more than three times a week",
    "loiter",
    "acted violently to anyone else",
    "engaged other people to help",
    "previous history of harassment",
)


@pytest.mark.parametrize("phrase", SDASH_PHRASES)
def test_no_sdash_wording(phrase: str) -> None:
    assert phrase not in _all_text()


def test_content_is_frozen_and_checked() -> None:
    item = content.OPENING.items[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.text = "changed"  # type: ignore[misc]
    with pytest.raises(ValueError, match="choices are required"):
        content.Item("x.y", "Question?", None, "choice")
    with pytest.raises(ValueError, match="only 'answer' items"):
        content.Item("x.y", "Question?", None, "text", asks_frequency=True)
    with pytest.raises(ValueError, match="lower-case"):
        content.Item("Bad Id", "Question?", None, "answer")


def test_code_system_has_one_display_per_code() -> None:
    cs = content.code_system()
    codes = [concept.code for concept in cs.concept or []]
    assert len(codes) == len(set(codes))
    assert {"yes", "no", "unsure", "not-asked", "daily", "past-week", "ex-partner"} <= set(codes)


def test_attribution_in_docs_and_questionnaires() -> None:
    doc = (REPO / "docs" / "content.md").read_text(encoding="utf-8")
    assert "Adapted from SPARC / T.K. Logan's SLII framework" in doc
    assert "verify locally before use" in doc
    for q in content.all_questionnaires():
        assert "SPARC" in (q.description or "")
