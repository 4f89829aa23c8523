# SPDX-License-Identifier: Apache-2.0
"""Deterministic synthetic data loaded into an empty sandbox.

Everything here is invented: names, dates, 555-01xx telephone numbers (reserved for fiction)
and ``example.org`` mail addresses.  Ids are fixed so tests and the demo can name them; dates
of appointments and encounters are relative to the moment the database is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

__all__ = [
    "APPOINTMENTS",
    "EMERGENCY_CONTACT",
    "ENCOUNTERS",
    "FRONT_DESK",
    "MRN_SYSTEM",
    "ORGANIZATION",
    "PATIENTS",
    "PORTAL_PROXY",
    "PRACTICE_ADMIN",
    "ROLES",
    "STAFF_ROLE_SYSTEM",
    "THERAPIST",
    "USERS",
    "SeedPatient",
    "person_id",
    "seed_resources",
]

ORGANIZATION = "org-practice"
THERAPIST = "therapist"
FRONT_DESK = "frontdesk"
PRACTICE_ADMIN = "admin"
STAFF_ROLE_SYSTEM = "urn:quietline-sandbox:staff-role"
MRN_SYSTEM = "urn:quietline-sandbox:mrn"
RELATIONSHIP_SYSTEM = "urn:quietline-sandbox:relationship"

USERS: dict[str, str] = {
    THERAPIST: "Dr. Morgan Reyes",
    FRONT_DESK: "Sam Okafor",
    PRACTICE_ADMIN: "Priya Natarajan",
}
"""Staff user id (= Practitioner id) to display name."""

ROLES: dict[str, tuple[str, str]] = {
    THERAPIST: ("role-therapist", "therapist"),
    FRONT_DESK: ("role-frontdesk", "front-desk"),
    PRACTICE_ADMIN: ("role-admin", "practice-admin"),
}
"""Staff user id to (PractitionerRole id, staff-role code)."""

_ROLE_DISPLAY = {
    "therapist": "Therapist",
    "front-desk": "Front desk",
    "practice-admin": "Practice administrator",
}
_STAFF_NAMES = {
    THERAPIST: ("Reyes", ["Morgan"], ["Dr."]),
    FRONT_DESK: ("Okafor", ["Sam"], []),
    PRACTICE_ADMIN: ("Natarajan", ["Priya"], []),
}


@dataclass(frozen=True)
class SeedPatient:
    """One synthetic patient."""

    id: str
    family: str
    given: str
    birth_date: str
    gender: str
    mrn: str
    phone: str
    line: str
    city: str
    postal_code: str

    @property
    def email(self) -> str:
        """A mailbox on the reserved ``example.org`` domain."""
        return f"{self.given}.{self.family}@example.org".lower()


_PATIENTS = (
    SeedPatient("pat-1", "Lindqvist", "Avery", "1988-04-12", "female", "QL-100001",
                "555-0101", "14 Wren Lane", "Fairhaven", "01010"),
    SeedPatient("pat-2", "Moreau", "Jordan", "1979-11-03", "male", "QL-100002",
                "555-0102", "7 Alder Court", "Fairhaven", "01011"),
    SeedPatient("pat-3", "Castellanos", "Riley", "1995-06-28", "female", "QL-100003",
                "555-0103", "220 Birch Road", "Millbrook", "01020"),
    SeedPatient("pat-4", "Adeyemi", "Taylor", "2001-01-17", "other", "QL-100004",
                "555-0104", "3 Quarry Street", "Millbrook", "01021"),
    SeedPatient("pat-5", "Kowalczyk", "Casey", "1968-09-09", "female", "QL-100005",
                "555-0105", "91 Harbour Street", "Eastport", "01030"),
    SeedPatient("pat-6", "Haddad", "Quinn", "1990-02-22", "male", "QL-100006",
                "555-0106", "48 Elm Row", "Eastport", "01031"),
)  # fmt: skip

PATIENTS: tuple[str, ...] = tuple(patient.id for patient in _PATIENTS)
ENCOUNTERS: dict[str, str] = {pid: f"enc-{pid.split('-')[1]}" for pid in PATIENTS}
"""Patient id to the id of its in-progress Encounter."""


def _appointment_ids(patient_id: str) -> tuple[str, str, str]:
    number = patient_id.split("-")[1]
    return f"appt-{number}-past", f"appt-{number}-next", f"appt-{number}-later"


APPOINTMENTS: dict[str, tuple[str, str, str]] = {pid: _appointment_ids(pid) for pid in PATIENTS}
"""Patient id to its (past fulfilled, next booked, later booked) Appointment ids."""
EMERGENCY_CONTACT = "rp-2-emergency"
"""RelatedPerson of ``pat-2``: an emergency contact."""
PORTAL_PROXY = "rp-3-proxy"
"""RelatedPerson of ``pat-3``: holds patient-portal proxy access."""


def _ref(resource_type: str, resource_id: str, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def person_id(user_id: str) -> str:
    """The id of the Person resource that links to a staff member's Practitioner."""
    return f"person-{user_id}"


def _staff() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for user_id, (family, given, prefix) in _STAFF_NAMES.items():
        name: dict[str, Any] = {"use": "official", "family": family, "given": given}
        if prefix:
            name["prefix"] = prefix
        name["text"] = USERS[user_id]
        resources.append(
            {"resourceType": "Practitioner", "id": user_id, "active": True, "name": [name]}
        )
        resources.append(
            {
                "resourceType": "Person",
                "id": person_id(user_id),
                "active": True,
                "name": [name],
                "link": [{"target": _ref("Practitioner", user_id, USERS[user_id])}],
            }
        )
        role_id, code = ROLES[user_id]
        resources.append(
            {
                "resourceType": "PractitionerRole",
                "id": role_id,
                "active": True,
                "practitioner": _ref("Practitioner", user_id, USERS[user_id]),
                "organization": _ref("Organization", ORGANIZATION),
                "code": [
                    {
                        "coding": [
                            {
                                "system": STAFF_ROLE_SYSTEM,
                                "code": code,
                                "display": _ROLE_DISPLAY[code],
                            }
                        ],
                        "text": _ROLE_DISPLAY[code],
                    }
                ],
            }
        )
    return resources


def _patient(patient: SeedPatient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient.id,
        "active": True,
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": MRN_SYSTEM,
                "value": patient.mrn,
            }
        ],
        "name": [{"use": "official", "family": patient.family, "given": [patient.given]}],
        "telecom": [
            {"system": "phone", "value": patient.phone, "use": "mobile"},
            {"system": "email", "value": patient.email, "use": "home"},
        ],
        "gender": patient.gender,
        "birthDate": patient.birth_date,
        "address": [
            {
                "use": "home",
                "line": [patient.line],
                "city": patient.city,
                "postalCode": patient.postal_code,
                "country": "US",
            }
        ],
        "managingOrganization": _ref("Organization", ORGANIZATION),
    }
    if patient.id == "pat-2":
        resource["contact"] = [
            {
                "relationship": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                                "code": "C",
                                "display": "Emergency Contact",
                            }
                        ]
                    }
                ],
                "name": {"family": "Moreau", "given": ["Elliot"]},
                "telecom": [{"system": "phone", "value": "555-0142"}],
            }
        ]
    return resource


def _related_people() -> list[dict[str, Any]]:
    emergency = {
        "resourceType": "RelatedPerson",
        "id": EMERGENCY_CONTACT,
        "active": True,
        "patient": _ref("Patient", "pat-2"),
        "relationship": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                        "code": "C",
                        "display": "Emergency Contact",
                    }
                ]
            }
        ],
        "name": [{"family": "Moreau", "given": ["Elliot"]}],
        "telecom": [{"system": "phone", "value": "555-0142"}],
    }
    proxy = {
        "resourceType": "RelatedPerson",
        "id": PORTAL_PROXY,
        "active": True,
        "patient": _ref("Patient", "pat-3"),
        "relationship": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                        "code": "SIGOTHR",
                        "display": "significant other",
                    },
                    {
                        "system": RELATIONSHIP_SYSTEM,
                        "code": "portal-proxy",
                        "display": "Patient portal proxy",
                    },
                ]
            }
        ],
        "name": [{"family": "Vance", "given": ["Drew"]}],
        "telecom": [{"system": "email", "value": "drew.vance@example.org"}],
    }
    return [emergency, proxy]


def _appointment(
    appointment_id: str, patient: SeedPatient, start: datetime, status: str
) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": status,
        "serviceType": [{"text": "Individual therapy session"}],
        "description": "Counselling session",
        "start": _instant(start),
        "end": _instant(start + timedelta(minutes=50)),
        "minutesDuration": 50,
        "participant": [
            {
                "actor": _ref("Patient", patient.id, f"{patient.given} {patient.family}"),
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": _ref("Practitioner", THERAPIST, USERS[THERAPIST]),
                "required": "required",
                "status": "accepted",
            },
        ],
    }


def _clinical(patient: SeedPatient, index: int, now: datetime) -> list[dict[str, Any]]:
    base = now.replace(minute=0, second=0, microsecond=0)
    encounter = {
        "resourceType": "Encounter",
        "id": ENCOUNTERS[patient.id],
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": _ref("Patient", patient.id),
        "participant": [{"individual": _ref("Practitioner", THERAPIST, USERS[THERAPIST])}],
        "period": {"start": _instant(base - timedelta(minutes=10 * index))},
        "serviceProvider": _ref("Organization", ORGANIZATION),
    }
    past_id, next_id, later_id = APPOINTMENTS[patient.id]
    past = base - timedelta(days=7 * index, hours=2)
    first = base + timedelta(days=index, hours=1)
    second = first + timedelta(days=14)
    return [
        encounter,
        _appointment(past_id, patient, past, "fulfilled"),
        _appointment(next_id, patient, first, "booked"),
        _appointment(later_id, patient, second, "booked"),
    ]


def seed_resources(now: datetime | None = None) -> list[dict[str, Any]]:
    """Every seed resource, ready for :meth:`ResourceStore.seed`."""
    moment = now or datetime.now(UTC)
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Organization",
            "id": ORGANIZATION,
            "active": True,
            "name": "Harbour Street Counselling",
            "telecom": [{"system": "phone", "value": "555-0100"}],
        },
        *_staff(),
    ]
    for index, patient in enumerate(_PATIENTS, start=1):
        resources.append(_patient(patient))
        resources.extend(_clinical(patient, index, moment))
    resources.extend(_related_people())
    return resources
