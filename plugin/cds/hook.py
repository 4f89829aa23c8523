# SPDX-License-Identifier: Apache-2.0
"""Strict parsing of ``appointment-book`` requests and of feedback.

CDS Hooks 2.0 "HTTP Request" (https://cds-hooks.hl7.org/2.0/#http-request): ``hook``,
``hookInstance`` (UUID), ``context``, ``prefetch``?, ``fhirServer``? and ``fhirAuthorization``?
(``fhirServer`` is required with it).  appointment-book 1.0 (cds-hooks-library
``appointment-book.md``): ``context.userId`` and ``context.patientId`` REQUIRED,
``context.encounterId`` OPTIONAL, ``context.appointments`` REQUIRED, an R4 Bundle of proposed
Appointments.  Prefetch: "a key with a null value means no data"; a missing key means "not
fetched".

``context.userId`` is not refused when missing or malformed: only staff are shown a card, so
anything that is not a Practitioner or PractitionerRole reference is answered as for a client
without a word, which tells a patient or proxy nothing.

Error messages name the field that is wrong, never the value sent (it may be a patient's data).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from .errors import InvalidRequest

__all__ = [
    "HOOK",
    "AppointmentBook",
    "Feedback",
    "FhirAccess",
    "parse_appointment_book",
    "parse_feedback",
    "parse_patient",
]

HOOK = "appointment-book"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
STAFF = re.compile(r"(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}")
"""A ``context.userId`` naming a member of staff: only they are shown the card."""
OUTCOMES = frozenset({"accepted", "overridden"})
MAX_FEEDBACK = 50


@dataclass(frozen=True)
class FhirAccess:
    """``fhirServer`` with the bearer token of ``fhirAuthorization``."""

    server: str
    token: str


@dataclass(frozen=True)
class AppointmentBook:
    """One parsed ``appointment-book`` call.

    :param staff: ``context.userId`` when it names a Practitioner or PractitionerRole;
        ``None`` for anyone else (a patient or proxy booking online, a kiosk) and for a
        missing or malformed userId, who all get the answer an unprotected client gets.
    :param prefetched: the request had a ``prefetch.patient`` key (its value may be null).
    :param patient: the prefetched Patient as JSON; ``None`` with ``prefetched`` means the
        EHR has no such patient.
    """

    hook_instance: str
    staff: str | None
    patient_id: str
    appointment_ids: tuple[str, ...]
    prefetched: bool
    patient: dict[str, Any] | None
    fhir: FhirAccess | None


@dataclass(frozen=True)
class Feedback:
    card: str
    outcome: str
    at: datetime


def _string(container: dict[str, Any], name: str, where: str) -> str:
    value = container.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{where}{name} is required and must be a non-empty string.")
    return value


def _object(container: dict[str, Any], name: str, where: str = "") -> dict[str, Any] | None:
    value = container.get(name)
    if value is not None and not isinstance(value, dict):
        raise InvalidRequest(f"{where}{name} must be a JSON object.")
    return value


def _field_path(exc: ValidationError) -> str:
    errors = exc.errors()
    return ".".join(str(part) for part in errors[0]["loc"]) if errors else ""


def parse_patient(data: object, where: str) -> dict[str, Any]:
    """Validate ``data`` as an R4 Patient; return the JSON unchanged.

    :raises InvalidRequest: naming ``where`` and the failing element, not the value.
    """
    if not isinstance(data, dict) or data.get("resourceType") != "Patient":
        raise InvalidRequest(f"{where} must be a FHIR Patient resource.")
    try:
        Patient.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(
            f"{where} is not a valid FHIR R4 Patient ({_field_path(exc)})."
        ) from None
    return data


def _appointments(context: dict[str, Any]) -> tuple[str, ...]:
    data = context.get("appointments")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InvalidRequest("context.appointments is required and must be a FHIR Bundle.")
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(
            f"context.appointments is not a valid FHIR R4 Bundle ({_field_path(exc)})."
        ) from None
    entries = bundle.entry or []
    resources = [entry.resource for entry in entries]
    if not resources or not all(isinstance(r, Appointment) for r in resources):
        raise InvalidRequest(
            "context.appointments must hold at least one Appointment and nothing else."
        )
    return tuple(r.id for r in resources if isinstance(r, Appointment) and r.id)


def _fhir_access(body: dict[str, Any]) -> FhirAccess | None:
    server = body.get("fhirServer")
    auth = _object(body, "fhirAuthorization")
    if server is not None and (not isinstance(server, str) or not server.startswith("http")):
        raise InvalidRequest("fhirServer must be an absolute http(s) URL.")
    if auth is None:
        return None
    if server is None:
        raise InvalidRequest("fhirServer is required when fhirAuthorization is sent.")
    token = _string(auth, "access_token", "fhirAuthorization.")
    if str(auth.get("token_type", "")).lower() != "bearer":
        raise InvalidRequest("fhirAuthorization.token_type must be Bearer.")
    for name, kind in (("expires_in", (int, float)), ("scope", str), ("subject", str)):
        if name in auth and not isinstance(auth[name], kind):
            raise InvalidRequest(f"fhirAuthorization.{name} has the wrong type.")
    return FhirAccess(server=server, token=token)


def parse_appointment_book(body: dict[str, Any]) -> AppointmentBook:
    """:raises InvalidRequest: with a message that names the wrong field."""
    if body.get("hook") != HOOK:
        raise InvalidRequest(f"hook must be {HOOK}: this service answers that hook only.")
    instance = _string(body, "hookInstance", "")
    try:
        uuid.UUID(instance)
    except ValueError:
        raise InvalidRequest("hookInstance must be a UUID.") from None
    context = _object(body, "context")
    if context is None:
        raise InvalidRequest("context is required.")
    user = context.get("userId")
    staff = user if isinstance(user, str) and STAFF.fullmatch(user) else None
    patient_id = _string(context, "patientId", "context.")
    if not FHIR_ID.fullmatch(patient_id):
        raise InvalidRequest("context.patientId must be a FHIR id.")
    encounter = context.get("encounterId")
    if encounter is not None and not isinstance(encounter, str):
        raise InvalidRequest("context.encounterId must be a string.")
    appointment_ids = _appointments(context)
    prefetch = _object(body, "prefetch") or {}
    prefetched = "patient" in prefetch
    patient = prefetch.get("patient")
    if patient is not None:
        patient = parse_patient(patient, "prefetch.patient")
    return AppointmentBook(
        hook_instance=instance,
        staff=staff,
        patient_id=patient_id,
        appointment_ids=appointment_ids,
        prefetched=prefetched,
        patient=patient,
        fhir=_fhir_access(body),
    )


def _feedback_item(index: int, item: object) -> Feedback:
    where = f"feedback.{index}."
    if not isinstance(item, dict):
        raise InvalidRequest(f"feedback.{index} must be a JSON object.")
    card = _string(item, "card", where)
    outcome = _string(item, "outcome", where)
    if outcome not in OUTCOMES:
        raise InvalidRequest(f"{where}outcome must be accepted or overridden.")
    stamp = _string(item, "outcomeTimestamp", where)
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        raise InvalidRequest(f"{where}outcomeTimestamp must be an ISO 8601 date-time.") from None
    if at.tzinfo is None:
        raise InvalidRequest(f"{where}outcomeTimestamp needs a time zone (UTC: Z).")
    suggestions = item.get("acceptedSuggestions")
    if suggestions is not None and (
        not isinstance(suggestions, list)
        or not all(isinstance(s, dict) and isinstance(s.get("id"), str) for s in suggestions)
    ):
        raise InvalidRequest(f"{where}acceptedSuggestions must be a list of {{id}} objects.")
    reason = _object(item, "overrideReason", where)
    if reason is not None:
        coding = _object(reason, "reason", f"{where}overrideReason.")
        comment = reason.get("userComment")
        if coding is not None and not all(
            isinstance(coding.get(name), str) for name in ("code", "system")
        ):
            raise InvalidRequest(f"{where}overrideReason.reason needs code and system.")
        if comment is not None and not isinstance(comment, str):
            raise InvalidRequest(f"{where}overrideReason.userComment must be a string.")
    return Feedback(card=card, outcome=outcome, at=at)


def parse_feedback(body: dict[str, Any]) -> list[Feedback]:
    """:raises InvalidRequest: with a message that names the wrong field."""
    items = body.get("feedback")
    if not isinstance(items, list) or not items:
        raise InvalidRequest("feedback is required and must be a non-empty list.")
    if len(items) > MAX_FEEDBACK:
        raise InvalidRequest(f"Send at most {MAX_FEEDBACK} feedback entries at once.")
    return [_feedback_item(index, item) for index, item in enumerate(items)]
