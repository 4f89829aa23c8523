# SPDX-License-Identifier: Apache-2.0
"""The Provenance Quietline writes for each appointment version changed after a verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.provenance import Provenance

from .interfaces import Action

__all__ = ["VERIFICATION_SYSTEM", "provenance_for"]

_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
VERIFICATION_SYSTEM = "urn:quietline:verification"
"""System of the identifier naming the verification (the grant id) in the Provenance."""


def _participant(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": _PARTICIPANT_TYPE, "code": code, "display": display}]}


def provenance_for(
    target: str, *, staff: str, grant_id: str, recorded: datetime, action: Action
) -> Provenance:
    """The Provenance of one appointment version written after a caller's verification.

    Neutral words only: it says that the change followed caller verification, not why the
    client is protected.
    """
    return Provenance.model_validate(
        {
            "resourceType": "Provenance",
            "meta": {"security": [{"system": _CONFIDENTIALITY, "code": "R"}]},
            "target": [{"reference": target}],
            "recorded": recorded.isoformat(),
            "activity": {
                "coding": [{"system": _DATA_OPERATION, "code": "UPDATE", "display": "revise"}],
                "text": action.label,
            },
            "reason": [{"text": "Caller verification passed"}],
            "agent": [
                {"type": _participant("author", "Author"), "who": {"reference": staff}},
                {"type": _participant("assembler", "Assembler"), "who": {"display": "Quietline"}},
            ],
            "entity": [
                {
                    "role": "source",
                    "what": {
                        "identifier": {"system": VERIFICATION_SYSTEM, "value": grant_id},
                        "display": "Caller verification",
                    },
                }
            ],
        }
    )
