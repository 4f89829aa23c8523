# SPDX-License-Identifier: Apache-2.0
"""smart_launch.scopes: SMART v1/v2 scope parsing, coverage and access checks."""

from __future__ import annotations

import dataclasses

import pytest

from smart_launch.scopes import ScopeSet
from smart_launch.scopes import parse_scope


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("   ", ()),
        ("launch openid", ("launch", "openid")),
        (" openid\tlaunch\n openid  launch ", ("openid", "launch")),
        ("patient/A.r patient/A.r patient/B.r", ("patient/A.r", "patient/B.r")),
    ],
)
def test_parse_scope_drops_duplicates_and_keeps_order(
    value: str | None, expected: tuple[str, ...]
) -> None:
    assert parse_scope(value) == expected
    assert ScopeSet.parse(value).scopes == expected


def test_a_scope_set_prints_as_the_scope_parameter() -> None:
    scopes = ScopeSet.parse("launch openid openid patient/Patient.r")
    assert str(scopes) == "launch openid patient/Patient.r"
    assert "openid" in scopes
    assert "patient/Patient.rs" not in scopes


def test_a_scope_set_is_immutable() -> None:
    scopes = ScopeSet.parse("openid")
    with pytest.raises(dataclasses.FrozenInstanceError):
        scopes.scopes = ("launch",)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("granted", "wanted"),
    [
        ("patient/Observation.read", "patient/Observation.rs"),
        ("patient/Observation.rs", "patient/Observation.read"),
        ("patient/Observation.write", "patient/Observation.cud"),
        ("patient/Observation.cud", "patient/Observation.write"),
        ("patient/Observation.*", "patient/Observation.cruds"),
        ("patient/Observation.cruds", "patient/Observation.*"),
        ("patient/Observation.cruds", "patient/Observation.r"),
        ("patient/Observation.cruds", "patient/Observation.cd"),
        ("patient/Observation.rs", "patient/Observation.s"),
        ("user/Appointment.write", "user/Appointment.u"),
    ],
)
def test_v1_and_v2_forms_are_equivalent(granted: str, wanted: str) -> None:
    assert ScopeSet.parse(granted).covers(wanted)


@pytest.mark.parametrize(
    ("granted", "wanted"),
    [
        ("patient/Appointment.write", "patient/Appointment.r"),
        ("patient/Appointment.write", "patient/Appointment.read"),
        ("patient/Appointment.cud", "patient/Appointment.rs"),
        ("patient/Appointment.u", "patient/Appointment.r"),
        ("patient/Appointment.u", "patient/Appointment.ru"),
        ("patient/Appointment.c", "patient/Appointment.s"),
    ],
)
def test_write_does_not_imply_read(granted: str, wanted: str) -> None:
    assert not ScopeSet.parse(granted).covers(wanted)


@pytest.mark.parametrize(
    ("granted", "wanted", "covered"),
    [
        ("patient/*.rs", "patient/Observation.r", True),
        ("patient/*.read", "patient/Flag.s", True),
        ("patient/*.cruds", "patient/*.rs", True),
        ("patient/Observation.rs", "patient/*.r", False),
        ("patient/*.rs", "patient/Observation.u", False),
        ("patient/*.rs", "user/Observation.r", False),
        ("user/*.rs", "patient/Observation.r", False),
        ("system/*.rs", "patient/Observation.r", False),
    ],
)
def test_wildcard_types_cover_only_their_context_and_permissions(
    granted: str, wanted: str, covered: bool
) -> None:
    assert ScopeSet.parse(granted).covers(wanted) is covered


@pytest.mark.parametrize(
    ("granted", "wanted", "covered"),
    [
        ("patient/Observation.rs", "patient/Observation.rs?category=laboratory", False),
        ("patient/*.cruds", "patient/Observation.rs?category=laboratory", False),
        (
            "patient/Observation.rs?category=laboratory",
            "patient/Observation.rs?category=laboratory",
            True,
        ),
        ("patient/Observation.rs?category=laboratory", "patient/Observation.r", False),
        ("patient/Observation.rs?category=laboratory", "patient/Observation.rs?category=x", False),
    ],
)
def test_query_suffixed_scopes_are_only_exact_matches(
    granted: str, wanted: str, covered: bool
) -> None:
    assert ScopeSet.parse(granted).covers(wanted) is covered


@pytest.mark.parametrize(
    ("granted", "wanted", "covered"),
    [
        ("patient/Observation.cruds", "patient/Observation.sr", False),
        ("patient/Observation.sr", "patient/Observation.sr", True),
        ("patient/Observation.sr", "patient/Observation.r", False),
        ("patient/Observation.", "patient/Observation.r", False),
        ("launch openid fhirUser", "openid", True),
        ("launch", "launch/patient", False),
        ("patient/*.cruds", "launch/patient", False),
        ("patient/observation.rs", "patient/observation.r", False),
    ],
)
def test_out_of_order_and_non_resource_scopes_are_exact_matches(
    granted: str, wanted: str, covered: bool
) -> None:
    assert ScopeSet.parse(granted).covers(wanted) is covered


def test_missing_from_keeps_the_request_order() -> None:
    requested = ScopeSet.parse(
        "launch openid fhirUser patient/Patient.r patient/Appointment.rus "
        "patient/Flag.cru patient/Observation.read"
    )
    granted = ScopeSet.parse(
        "patient/Observation.rs launch patient/Appointment.r patient/Patient.rs openid"
    )
    assert granted.missing_from(requested) == (
        "fhirUser",
        "patient/Appointment.rus",
        "patient/Flag.cru",
    )
    assert requested.missing_from(requested) == ()


@pytest.mark.parametrize(
    ("granted", "resource", "interaction", "context", "allowed"),
    [
        ("patient/Appointment.rs", "Appointment", "r", "patient", True),
        ("patient/Appointment.rs", "Appointment", "u", "patient", False),
        ("patient/Appointment.u", "Appointment", "r", "patient", False),
        ("patient/Appointment.u", "Appointment", "u", "patient", True),
        ("patient/Appointment.write", "Appointment", "d", "patient", True),
        ("patient/Appointment.write", "Appointment", "r", "patient", False),
        ("patient/Appointment.rs", "Flag", "r", "patient", False),
        ("patient/*.rs", "Flag", "s", "patient", True),
        ("user/*.rs", "Flag", "r", "patient", True),
        ("user/Flag.rs", "Flag", "r", "user", True),
        ("patient/Flag.rs", "Flag", "r", "user", False),
        ("patient/*.cruds", "Flag", "r", "user", False),
        ("system/Flag.rs", "Flag", "r", "patient", False),
        ("system/Flag.rs", "Flag", "r", "system", True),
        ("user/Flag.rs", "Flag", "r", "system", False),
        ("user/*.cruds", "Flag", "r", "admin", False),
    ],
)
def test_allows_applies_the_patient_and_user_context_rules(
    granted: str, resource: str, interaction: str, context: str, allowed: bool
) -> None:
    assert ScopeSet.parse(granted).allows(resource, interaction, context=context) is allowed


@pytest.mark.parametrize("interaction", ["", "rs", "read", "x", "R"])
def test_allows_takes_one_interaction_letter(interaction: str) -> None:
    assert not ScopeSet.parse("patient/*.cruds user/*.cruds").allows("Flag", interaction)


def test_allows_does_not_treat_a_query_limited_grant_as_unrestricted() -> None:
    granted = ScopeSet.parse("patient/Observation.rs?category=laboratory")
    assert not granted.covers("patient/Observation.r")
    assert not granted.allows("Observation", "r")
