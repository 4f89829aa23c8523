# SPDX-License-Identifier: Apache-2.0
"""The search parameters the sandbox supports, per resource type.

Names and element paths follow the FHIR R4 search parameter registry
(https://hl7.org/fhir/R4/searchparameter-registry.html); ``date`` covers the element each
resource's ``clinical-date`` parameter uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COMMON_PARAMS",
    "RESOURCE_PARAMS",
    "RESOURCE_TYPES",
    "ParamDef",
    "param_def",
]

Kind = Literal["token", "reference", "date", "string", "uri", "id"]


@dataclass(frozen=True)
class ParamDef:
    """How one search parameter is evaluated.

    :param paths: dotted element paths (lists are flattened); choice types list each variant.
    :param targets: resource types a reference parameter may point to (empty: any).
    """

    kind: Kind
    paths: tuple[str, ...]
    targets: tuple[str, ...] = ()


def _token(*paths: str) -> ParamDef:
    return ParamDef("token", paths)


def _ref(*paths: str, targets: tuple[str, ...] = ()) -> ParamDef:
    return ParamDef("reference", paths, targets)


def _date(*paths: str) -> ParamDef:
    return ParamDef("date", paths)


def _string(*paths: str) -> ParamDef:
    return ParamDef("string", paths)


_PATIENT = ("Patient",)
_SUBJECT = {"patient": _ref("subject", targets=_PATIENT), "subject": _ref("subject")}
_STATUS = {"status": _token("status")}
_IDENTIFIER = {"identifier": _token("identifier")}
_ENCOUNTER = {"encounter": _ref("encounter", targets=("Encounter",))}
_PERSON = {
    "name": _string("name"),
    "family": _string("name.family"),
    "given": _string("name.given"),
    "birthdate": _date("birthDate"),
    "gender": _token("gender"),
    "active": _token("active"),
    "telecom": _token("telecom"),
}

COMMON_PARAMS: dict[str, ParamDef] = {
    "_id": ParamDef("id", ("id",)),
    "_lastUpdated": _date("meta.lastUpdated"),
    "_tag": _token("meta.tag"),
    "_security": _token("meta.security"),
}
"""Parameters every resource type supports."""

RESOURCE_PARAMS: dict[str, dict[str, ParamDef]] = {
    "Patient": {
        **_IDENTIFIER,
        **_PERSON,
        "organization": _ref("managingOrganization", targets=("Organization",)),
    },
    "Practitioner": {**_IDENTIFIER, **_PERSON},
    "Person": {
        **_IDENTIFIER,
        **_PERSON,
        "link": _ref("link.target"),
        "practitioner": _ref("link.target", targets=("Practitioner",)),
    },
    "RelatedPerson": {
        **_IDENTIFIER,
        **_PERSON,
        "patient": _ref("patient", targets=_PATIENT),
        "relationship": _token("relationship"),
    },
    "PractitionerRole": {
        **_IDENTIFIER,
        "practitioner": _ref("practitioner", targets=("Practitioner",)),
        "organization": _ref("organization", targets=("Organization",)),
        "role": _token("code"),
        "active": _token("active"),
    },
    "Organization": {**_IDENTIFIER, "name": _string("name", "alias"), "active": _token("active")},
    "Appointment": {
        **_IDENTIFIER,
        **_STATUS,
        "patient": _ref("participant.actor", targets=_PATIENT),
        "actor": _ref("participant.actor"),
        "practitioner": _ref("participant.actor", targets=("Practitioner",)),
        "date": _date("start"),
        "service-type": _token("serviceType"),
        "appointment-type": _token("appointmentType"),
    },
    "Encounter": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        "date": _date("period"),
        "practitioner": _ref("participant.individual", targets=("Practitioner",)),
        "participant": _ref("participant.individual"),
        "class": _token("class"),
        "type": _token("type"),
        "appointment": _ref("appointment", targets=("Appointment",)),
    },
    "DocumentReference": {
        "identifier": _token("identifier", "masterIdentifier"),
        **_STATUS,
        **_SUBJECT,
        "date": _date("date"),
        "encounter": _ref("context.encounter", targets=("Encounter",)),
        "category": _token("category"),
        "type": _token("type"),
        "author": _ref("author"),
    },
    "QuestionnaireResponse": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        **_ENCOUNTER,
        "author": _ref("author"),
        "authored": _date("authored"),
        "questionnaire": ParamDef("uri", ("questionnaire",)),
    },
    "Observation": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        **_ENCOUNTER,
        "date": _date("effectiveDateTime", "effectivePeriod", "effectiveInstant"),
        "code": _token("code"),
        "category": _token("category"),
        "focus": _ref("focus"),
    },
    "RiskAssessment": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        **_ENCOUNTER,
        "date": _date("occurrenceDateTime", "occurrencePeriod"),
        "code": _token("code"),
        "method": _token("method"),
    },
    "Consent": {
        **_IDENTIFIER,
        **_STATUS,
        "patient": _ref("patient", targets=_PATIENT),
        "category": _token("category"),
        "scope": _token("scope"),
        "date": _date("dateTime"),
        "actor": _ref("provision.actor.reference"),
    },
    "CommunicationRequest": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        **_ENCOUNTER,
        "category": _token("category"),
        "requester": _ref("requester"),
        "recipient": _ref("recipient"),
        "authored": _date("authoredOn"),
        "based-on": _ref("basedOn"),
    },
    "Communication": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        **_ENCOUNTER,
        "category": _token("category"),
        "recipient": _ref("recipient"),
        "sender": _ref("sender"),
        "date": _date("sent"),
        "based-on": _ref("basedOn"),
    },
    "Flag": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        **_ENCOUNTER,
        "category": _token("category"),
        "code": _token("code"),
        "author": _ref("author"),
        "date": _date("period"),
    },
    "ServiceRequest": {
        **_IDENTIFIER,
        **_STATUS,
        **_SUBJECT,
        **_ENCOUNTER,
        "code": _token("code"),
        "category": _token("category"),
        "requester": _ref("requester"),
        "performer": _ref("performer"),
        "authored": _date("authoredOn"),
        "based-on": _ref("basedOn"),
    },
    "Task": {
        **_IDENTIFIER,
        **_STATUS,
        **_ENCOUNTER,
        "patient": _ref("for", targets=_PATIENT),
        "subject": _ref("for"),
        "code": _token("code"),
        "requester": _ref("requester"),
        "owner": _ref("owner"),
        "focus": _ref("focus"),
        "based-on": _ref("basedOn"),
        "business-status": _token("businessStatus"),
        "date": _date("authoredOn"),
        "authored-on": _date("authoredOn"),
    },
    "Provenance": {
        "target": _ref("target"),
        "patient": _ref("target", targets=_PATIENT),
        "agent": _ref("agent.who"),
        "recorded": _date("recorded"),
    },
    "Questionnaire": {
        **_IDENTIFIER,
        **_STATUS,
        "url": ParamDef("uri", ("url",)),
        "name": _string("name"),
        "title": _string("title"),
        "version": _token("version"),
    },
    "AuditEvent": {
        "date": _date("recorded"),
        "patient": _ref("entity.what", targets=_PATIENT),
        "entity": _ref("entity.what"),
        "agent": _ref("agent.who"),
        "type": _token("type"),
        "subtype": _token("subtype"),
    },
}
"""Type-specific parameters; the keys are the resource types the server supports."""

RESOURCE_TYPES: tuple[str, ...] = tuple(RESOURCE_PARAMS)


def param_def(resource_type: str, name: str) -> ParamDef | None:
    """The definition of ``name`` for ``resource_type``, if supported."""
    return COMMON_PARAMS.get(name) or RESOURCE_PARAMS.get(resource_type, {}).get(name)
