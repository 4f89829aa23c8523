# SPDX-License-Identifier: Apache-2.0
"""FHIR R4B Questionnaires (and the local answers CodeSystem) built from the content."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire

from .model import ANSWER_CHOICES
from .model import ANSWER_SYSTEM
from .model import CANONICAL_BASE
from .model import CONTENT_VERSION
from .model import FREQUENCIES
from .model import LOINC_SYSTEM
from .model import RECENCIES
from .model import ContentError
from .model import Item
from .model import Section
from .model import frequency_link_id
from .model import recency_link_id
from .screening import FEAR
from .screening import HARK
from .screening import HARK_PANEL_LOINC
from .screening import OPENING
from .slii import SLII

SECTIONS: dict[str, Section] = {s.key: s for s in (OPENING, *SLII, FEAR, HARK)}

QUESTIONNAIRES: dict[str, tuple[str, ...]] = {
    "opening": ("opening",),
    "slii-screening": tuple(s.key for s in SLII),
    "fear": ("fear",),
    "hark": ("hark",),
}

_TITLES = {
    "opening": ("QuietlineOpening", "Opening pattern check"),
    "slii-screening": ("QuietlineSliiScreening", "SLII screening"),
    "fear": ("QuietlineFear", "Fear and impact"),
    "hark": ("QuietlineHark", "HARK (optional)"),
}

ATTRIBUTION = (
    "Quietline's own wording. Adapted from SPARC / T.K. Logan's SLII framework "
    "(Stalking Prevention, Awareness, and Resource Center). A structured professional "
    "judgement aid, not a validated screening test or score."
)
HARK_COPYRIGHT = (
    "HARK: Sohal, Eldridge and Feder, BMC Family Practice 2007, re-worded with its meaning "
    "kept. This material contains content from LOINC (https://loinc.org), copyright "
    "Regenstrief Institute, Inc. and the LOINC Committee, available at no cost under the "
    "license at https://loinc.org/license."
)

_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
_ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"


def canonical_url(questionnaire_id: str) -> str:
    """The canonical URL of one of Quietline's Questionnaires."""
    return f"{CANONICAL_BASE}/Questionnaire/{questionnaire_id}"


def _options(item: Item) -> list[dict[str, Any]]:
    system = LOINC_SYSTEM if item.loinc else ANSWER_SYSTEM
    pairs = ANSWER_CHOICES if item.kind == "answer" else item.choices
    return [{"valueCoding": {"system": system, "code": c, "display": d}} for c, d in pairs]


def _follow_up(link_id: str, text: str, parent: str, pairs: Sequence[tuple[str, str]]) -> Any:
    return {
        "linkId": link_id,
        "text": text,
        "type": "choice",
        "enableWhen": [
            {
                "question": parent,
                "operator": "=",
                "answerCoding": {"system": ANSWER_SYSTEM, "code": "yes"},
            }
        ],
        "answerOption": [
            {"valueCoding": {"system": ANSWER_SYSTEM, "code": c, "display": d}} for c, d in pairs
        ],
    }


def _item(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.link_id, "text": item.text}
    if item.kind in ("answer", "choice"):
        out["type"] = "choice"
        out["answerOption"] = _options(item)
    elif item.kind == "date":
        out["type"] = "date"
    else:
        out["type"] = "string" if item.max_length <= 255 else "text"
        out["maxLength"] = item.max_length
    if item.loinc:
        out["code"] = [{"system": LOINC_SYSTEM, "code": item.loinc}]
    children: list[dict[str, Any]] = []
    if item.help:
        children.append(
            {
                "linkId": f"{item.link_id}.help",
                "text": item.help,
                "type": "display",
                "extension": [
                    {
                        "url": _ITEM_CONTROL,
                        "valueCodeableConcept": {
                            "coding": [{"system": _ITEM_CONTROL_SYSTEM, "code": "help"}]
                        },
                    }
                ],
            }
        )
    if item.asks_frequency:
        link = frequency_link_id(item.link_id)
        children.append(_follow_up(link, "How often?", item.link_id, FREQUENCIES))
    if item.asks_recency:
        link = recency_link_id(item.link_id)
        children.append(_follow_up(link, "When was the most recent time?", item.link_id, RECENCIES))
    if children:
        out["item"] = children
    return out


def _group(section: Section) -> dict[str, Any]:
    group: dict[str, Any] = {
        "linkId": section.key,
        "text": section.title,
        "type": "group",
        "item": [
            {"linkId": f"{section.key}.intro", "text": section.intro, "type": "display"},
            *(_item(item) for item in section.items),
        ],
    }
    if section.key == "hark":
        group["code"] = [{"system": LOINC_SYSTEM, "code": HARK_PANEL_LOINC}]
    return group


def _resolve(section_keys: str | Sequence[str]) -> str:
    if isinstance(section_keys, str):
        if section_keys in QUESTIONNAIRES:
            return section_keys
        section_keys = (section_keys,)
    wanted = tuple(section_keys)
    for qid, keys in QUESTIONNAIRES.items():
        if keys == wanted:
            return qid
    raise ContentError(f"no Questionnaire is made of sections {wanted!r}")


@cache
def questionnaire_json(questionnaire_id: str) -> dict[str, Any]:
    """The JSON of a Questionnaire by id (shared; callers must not mutate it)."""
    keys = QUESTIONNAIRES[questionnaire_id]
    name, title = _TITLES[questionnaire_id]
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id,
        "url": canonical_url(questionnaire_id),
        "version": CONTENT_VERSION,
        "name": name,
        "title": title,
        "status": "active",
        "experimental": False,
        "subjectType": ["Patient"],
        "publisher": "Quietline",
        "description": ATTRIBUTION,
        "copyright": HARK_COPYRIGHT if questionnaire_id == "hark" else ATTRIBUTION,
        "item": [_group(SECTIONS[key]) for key in keys],
    }
    if questionnaire_id == "hark":
        resource["code"] = [{"system": LOINC_SYSTEM, "code": HARK_PANEL_LOINC}]
    return resource


def questionnaire(section_keys: str | Sequence[str]) -> Questionnaire:
    """A new, validated R4B Questionnaire: by id, or by the exact tuple of its section keys."""
    return Questionnaire.model_validate(questionnaire_json(_resolve(section_keys)))


def all_questionnaires() -> list[Questionnaire]:
    """Every Questionnaire Quietline serves, in display order."""
    return [questionnaire(qid) for qid in QUESTIONNAIRES]


def answer_codes() -> dict[str, str]:
    """Every code of the local answers CodeSystem with its display (one display per code)."""
    codes: dict[str, str] = {}
    pairs: list[tuple[str, str]] = [*ANSWER_CHOICES, *FREQUENCIES, *RECENCIES]
    for section in SECTIONS.values():
        for item in section.items:
            if item.kind == "choice" and not item.loinc:
                pairs.extend(item.choices)
    for code, display in pairs:
        if codes.setdefault(code, display) != display:
            raise ContentError(f"answer code {code!r} has two displays")
    return codes


def code_system() -> CodeSystem:
    """The local CodeSystem for every non-LOINC answer code."""
    return CodeSystem.model_validate(
        {
            "resourceType": "CodeSystem",
            "id": "answers",
            "url": ANSWER_SYSTEM,
            "version": CONTENT_VERSION,
            "name": "QuietlineAnswers",
            "title": "Quietline answer codes",
            "status": "active",
            "content": "complete",
            "caseSensitive": True,
            "concept": [{"code": c, "display": d} for c, d in answer_codes().items()],
        }
    )
