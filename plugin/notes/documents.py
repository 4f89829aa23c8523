# SPDX-License-Identifier: Apache-2.0
"""The minimal note as a FHIR R4 DocumentReference with DS4P security labels.

DS4P IG 1.0.0: exactly one confidentiality code (``R``, or ``V`` where the tenant says so),
sensitivity ``SDV`` and ``PSY``, refrain ``NORDSCLCD`` (no redisclosure without consent).  When
the clinician withholds the note from the patient portal on a recorded basis (45 CFR 171.201 or
171.202), ``NOPAT`` (no disclosure to the patient without the clinician's authorisation) is added
so the EHR's portal release honours it.  The labels go in both ``meta.security`` and
``securityLabel``.  Process (psychotherapy) notes never become a DocumentReference.
"""

from __future__ import annotations

import base64
from datetime import datetime

from fhir.resources.R4B.documentreference import DocumentReference

__all__ = ["NOTE_IDENTIFIER_SYSTEM", "build_document", "security_labels"]

NOTE_IDENTIFIER_SYSTEM = "urn:quietline:document"
_CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


def security_labels(confidentiality: str, *, withheld: bool) -> list[dict[str, str]]:
    """The label set for a minimal note."""
    if confidentiality not in {"R", "V"}:
        msg = "confidentiality must be R or V"
        raise ValueError(msg)
    # Codes only: a display such as SDV's would spell out abuse to anyone reading the record.
    labels = [
        {"system": _CONF, "code": confidentiality},
        {"system": _ACT, "code": "SDV"},
        {"system": _ACT, "code": "PSY"},
        {"system": _ACT, "code": "NORDSCLCD"},
    ]
    if withheld:
        labels.append({"system": _ACT, "code": "NOPAT"})
    return labels


def build_document(
    *,
    text: str,
    patient_id: str,
    author: str,
    encounter_id: str | None,
    identifier: str,
    confidentiality: str,
    withheld: bool,
    when: datetime,
) -> DocumentReference:
    """A final, current progress note holding ``text`` and nothing else."""
    labels = security_labels(confidentiality, withheld=withheld)
    data: dict[str, object] = {
        "resourceType": "DocumentReference",
        "meta": {"security": labels},
        "identifier": [{"system": NOTE_IDENTIFIER_SYSTEM, "value": identifier}],
        "status": "current",
        "docStatus": "final",
        "type": {
            "coding": [{"system": "http://loinc.org", "code": "11506-3"}],
            "text": "Progress note",
        },
        "category": [
            {
                "coding": [
                    {
                        "system": _US_CORE_CATEGORY,
                        "code": "clinical-note",
                        "display": "Clinical Note",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": when.isoformat(),
        "author": [{"reference": author}],
        "securityLabel": [{"coding": [label]} for label in labels],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                    "title": "Progress note",
                }
            }
        ],
    }
    if encounter_id:
        data["context"] = {"encounter": [{"reference": f"Encounter/{encounter_id}"}]}
    return DocumentReference.model_validate(data)
