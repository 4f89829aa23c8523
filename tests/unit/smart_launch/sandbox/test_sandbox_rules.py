# SPDX-License-Identifier: Apache-2.0
"""Pure rules without a server: scopes, date ranges, search matching and validation."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from smart_launch.sandbox.dates import parse_date_range
from smart_launch.sandbox.references import parse_reference
from smart_launch.sandbox.references import patients_of
from smart_launch.sandbox.scopes import decide
from smart_launch.sandbox.scopes import grant_scopes
from smart_launch.sandbox.scopes import parse_scope
from smart_launch.sandbox.search import SearchError
from smart_launch.sandbox.search import matches
from smart_launch.sandbox.search import parse_search
from smart_launch.sandbox.validation import InvalidResource
from smart_launch.sandbox.validation import validate_resource

BASE = "http://127.0.0.1:8700/fhir"


@pytest.mark.parametrize(
    ("scope", "permissions"),
    [
        ("patient/Appointment.read", "rs"),
        ("patient/Appointment.write", "cud"),
        ("user/*.*", "cruds"),
        ("patient/Appointment.rs", "rs"),
        ("system/Task.cruds", "cruds"),
        ("patient/Appointment.sr", None),
        ("patient/Appointment.x", None),
        ("launch/patient", None),
        ("patient/Observation.rs?category=laboratory", None),
    ],
)
def test_parse_scope(scope: str, permissions: str | None) -> None:
    parsed = parse_scope(scope)
    if permissions is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert parsed.permissions == frozenset(permissions)


def test_grant_scopes_keeps_request_order_and_honours_wildcards() -> None:
    allowed = ("launch", "openid", "patient/*.cruds", "user/Patient.rs")
    requested = "patient/Appointment.rus openid user/Patient.r user/Flag.r launch openid"
    assert grant_scopes(requested, allowed) == [
        "patient/Appointment.rus",
        "openid",
        "user/Patient.r",
        "launch",
    ]
    assert grant_scopes("system/Patient.rs", allowed) == []


def test_decide_patient_user_and_system_contexts() -> None:
    assert decide(("patient/Flag.cr",), "pat-1", "Flag", "r").patient == "pat-1"
    assert not decide(("patient/Flag.cr",), "pat-1", "Flag", "u").allowed
    assert not decide(("patient/Flag.cr",), None, "Flag", "r").allowed
    unconfined = decide(("patient/Flag.r", "user/Flag.r"), "pat-1", "Flag", "r")
    assert unconfined.allowed
    assert unconfined.patient is None
    assert decide(("system/*.rs",), None, "Task", "s").allowed
    assert not decide(("system/*.rs",), None, "Task", "c").allowed


def test_date_ranges_follow_precision() -> None:
    month = parse_date_range("2024-02")
    assert month is not None
    assert month.low == datetime(2024, 2, 1, tzinfo=UTC)
    assert month.high == datetime(2024, 3, 1, tzinfo=UTC)
    local = parse_date_range("2024-03-01T09:30:00+02:00")
    assert local is not None
    assert local.low == datetime(2024, 3, 1, 7, 30, tzinfo=UTC)
    assert parse_date_range("2024-13") is None
    assert parse_date_range("yesterday") is None


def test_references_and_compartment() -> None:
    assert parse_reference("Patient/pat-1", BASE) == ("Patient", "pat-1")
    assert parse_reference(f"{BASE}/Patient/pat-1/_history/3", BASE) == ("Patient", "pat-1")
    assert parse_reference("https://elsewhere.example/fhir/Patient/pat-1", BASE) is None
    appointment = {
        "resourceType": "Appointment",
        "participant": [
            {"actor": {"reference": "Patient/pat-1"}},
            {"actor": {"reference": "Practitioner/therapist"}},
            {"actor": {"reference": f"{BASE}/Patient/pat-2"}},
        ],
    }
    assert patients_of(appointment, BASE) == {"pat-1", "pat-2"}
    assert patients_of({"resourceType": "Task", "for": {"reference": "Patient/pat-3"}}, BASE) == {
        "pat-3"
    }


def _match(resource: dict[str, object], key: str, value: str) -> bool:
    search = parse_search(str(resource["resourceType"]), [(key, value)], strict=True)
    return matches(resource, search.criteria, BASE)


def test_token_and_period_matching() -> None:
    flag: dict[str, object] = {
        "resourceType": "Flag",
        "status": "active",
        "category": [{"coding": [{"system": "urn:cat", "code": "safety"}]}],
        "period": {"start": "2024-05-01T10:00:00Z"},
    }
    assert _match(flag, "category", "urn:cat|safety")
    assert _match(flag, "category", "urn:cat|")
    assert not _match(flag, "category", "|safety")
    assert _match(flag, "status:not", "inactive")
    assert not _match(flag, "status:not", "active")
    assert _match(flag, "date", "ge2030-01-01")
    assert not _match(flag, "date", "lt2024-05-01")
    assert _match(flag, "encounter:missing", "true")
    assert not _match(flag, "encounter:missing", "false")


def test_strict_and_lenient_parsing() -> None:
    lenient = parse_search("Patient", [("colour", "red"), ("family", "x")], strict=False)
    assert lenient.ignored == ["colour"]
    assert [c.name for c in lenient.criteria] == ["family"]
    with pytest.raises(SearchError):
        parse_search("Patient", [("colour", "red")], strict=True)
    with pytest.raises(SearchError):
        parse_search("Patient", [("family:below", "x")], strict=False)


def test_validation_checks_required_codes() -> None:
    with pytest.raises(InvalidResource) as info:
        validate_resource(
            "Appointment",
            {
                "resourceType": "Appointment",
                "status": "booked",
                "participant": [{"status": "maybe", "actor": {"reference": "Patient/pat-1"}}],
            },
        )
    assert info.value.problems[0][0] == "Appointment.participant[0].status"
    validate_resource(
        "Appointment",
        {
            "resourceType": "Appointment",
            "status": "booked",
            "participant": [{"status": "accepted", "actor": {"reference": "Patient/pat-1"}}],
        },
    )
