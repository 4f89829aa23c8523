# SPDX-License-Identifier: Apache-2.0
"""The finished review as FHIR R4 resources, kept in the vault (never sent to the EHR).

QuestionnaireResponse for the answers; RiskAssessment with ``prediction.qualitativeRisk`` set to
the clinician's own overall concern (``risk-probability`` low / moderate / high) and the marked
factors as notes - Quietline computes no score.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.riskassessment import RiskAssessment

from ..content import ANSWER_DISPLAY
from ..content import CANONICAL_BASE
from ..content import CONTENT_VERSION
from ..content import QUESTIONNAIRES
from ..content import RISK_DOMAINS
from ..content import Section
from ..content import canonical_url

__all__ = ["questionnaire_response", "questionnaire_responses", "risk_assessment"]

_ANSWER_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/answers"
_RISK = "http://terminology.hl7.org/CodeSystem/risk-probability"


def _answer(item_kind: str, value: str) -> dict[str, Any]:
    if item_kind == "answer":
        display = ANSWER_DISPLAY.get(value, value)
        return {"valueCoding": {"system": _ANSWER_SYSTEM, "code": value, "display": display}}
    if item_kind == "date":
        return {"valueDate": value}
    if item_kind == "choice":
        return {"valueCoding": {"system": _ANSWER_SYSTEM, "code": value}}
    return {"valueString": value}


def questionnaire_responses(
    sections: tuple[Section, ...],
    answers: dict[str, str],
    *,
    patient_id: str,
    author: str,
    when: datetime,
) -> list[QuestionnaireResponse]:
    """One response per Questionnaire (opening, SLII screening, fear, HARK) that has answers."""
    by_key = {section.key: section for section in sections}
    responses = []
    for questionnaire_id, keys in QUESTIONNAIRES.items():
        chosen = tuple(by_key[key] for key in keys if key in by_key)
        if chosen:
            response = questionnaire_response(
                questionnaire_id, chosen, answers, patient_id=patient_id, author=author, when=when
            )
            if response.item:
                responses.append(response)
    return responses


def questionnaire_response(
    questionnaire_id: str,
    sections: tuple[Section, ...],
    answers: dict[str, str],
    *,
    patient_id: str,
    author: str,
    when: datetime,
) -> QuestionnaireResponse:
    groups = []
    for section in sections:
        items = []
        for item in section.items:
            value = answers.get(item.link_id)
            if not value:
                continue
            entry: dict[str, Any] = {
                "linkId": item.link_id,
                "text": item.text,
                "answer": [_answer(item.kind, value)],
            }
            extra = [
                {"linkId": f"{item.link_id}.{suffix}", "answer": [{"valueString": v}]}
                for suffix in ("frequency", "recency")
                if (v := answers.get(f"{item.link_id}.{suffix}"))
            ]
            if extra:
                entry["answer"][0]["item"] = extra
            items.append(entry)
        if items:
            groups.append({"linkId": section.key, "text": section.title, "item": items})
    data = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{canonical_url(questionnaire_id)}|{CONTENT_VERSION}",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": when.isoformat(),
        "author": {"reference": author},
        "item": groups,
    }
    if not groups:
        del data["item"]
    return QuestionnaireResponse.model_validate(data)


def risk_assessment(
    risk: dict[str, str],
    *,
    concern: str | None,
    rationale: str | None,
    patient_id: str,
    author: str,
    when: datetime,
) -> RiskAssessment:
    notes = []
    for domain in RISK_DOMAINS:
        present = [f.text for f in domain.factors if risk.get(f"{f.id}.mark") == "present"]
        if present:
            notes.append({"text": f"{domain.title}: " + "; ".join(present)})
    if rationale:
        notes.append({"text": f"Clinician's rationale: {rationale}"})
    data: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": f"Patient/{patient_id}"},
        "occurrenceDateTime": when.isoformat(),
        "performer": {"reference": author},
        "method": {"text": "Structured professional judgement aid (no score)"},
        "note": notes or None,
    }
    if concern:
        data["prediction"] = [
            {
                "outcome": {"text": "Continued stalking, harm or violence"},
                "qualitativeRisk": {"coding": [{"system": _RISK, "code": concern}]},
            }
        ]
    return RiskAssessment.model_validate({k: v for k, v in data.items() if v is not None})
