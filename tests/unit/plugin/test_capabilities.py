# SPDX-License-Identifier: Apache-2.0
"""Capabilities: filtered by role, disabled with a reason when a scope or the patient is missing."""

from __future__ import annotations

from plugin.capabilities import CAPABILITIES
from plugin.capabilities import CapabilityState
from plugin.capabilities import evaluate
from smart_launch.scopes import ScopeSet

ALL_SCOPES = ScopeSet.parse(
    "patient/Patient.rs patient/DocumentReference.cru patient/Appointment.rus "
    "patient/CommunicationRequest.cru patient/Consent.cru patient/ServiceRequest.cr"
)


def _by_key(states: list[CapabilityState]) -> dict[str, CapabilityState]:
    return {state.capability.key: state for state in states}


def test_clinician_with_every_scope_and_a_patient_can_use_everything_clinical() -> None:
    states = evaluate(("clinician",), ALL_SCOPES, has_patient=True)

    assert [state.capability.key for state in states] == [
        "screening",
        "notes",
        "codeword-enroll",
        "notifications",
        "referrals",
    ]
    assert all(state.available and state.reason is None for state in states)


def test_missing_scope_disables_the_capability_and_names_the_resource() -> None:
    scopes = ScopeSet.parse("patient/Patient.rs patient/Appointment.rs")

    states = _by_key(evaluate(("clinician",), scopes, has_patient=True))

    assert states["screening"].available
    assert not states["notes"].available
    assert states["notes"].reason == "The EHR did not grant access to DocumentReference."
    assert states["referrals"].reason == (
        "The EHR did not grant access to ServiceRequest, Consent."
    )


def test_write_scope_does_not_stand_in_for_read() -> None:
    states = _by_key(
        evaluate(("clinician",), ScopeSet.parse("patient/Patient.c"), has_patient=True)
    )

    assert not states["screening"].available
    assert "Patient" in (states["screening"].reason or "")


def test_wildcard_scope_covers_every_capability() -> None:
    states = evaluate(("clinician",), ScopeSet.parse("patient/*.cruds"), has_patient=True)

    assert states
    assert all(state.available for state in states)


def test_without_a_patient_the_reason_is_to_open_a_chart() -> None:
    states = evaluate(("clinician", "front_desk"), ALL_SCOPES, has_patient=False)

    assert states
    for state in states:
        assert not state.available
        assert state.reason == "Open a client's chart first."


def test_roles_filter_the_list() -> None:
    desk = evaluate(("front_desk",), ALL_SCOPES, has_patient=True)
    admin = evaluate(("admin",), ALL_SCOPES, has_patient=True)

    assert [state.capability.key for state in desk] == ["codeword"]
    assert [state.capability.key for state in admin] == ["admin"]
    assert evaluate((), ALL_SCOPES, has_patient=True) == []
    assert evaluate(("superuser",), ALL_SCOPES, has_patient=True) == []


def test_admin_needs_no_patient_and_no_scope() -> None:
    states = evaluate(("admin",), ScopeSet.parse(""), has_patient=False)

    assert len(states) == 1
    assert states[0].available
    assert states[0].reason is None


def test_several_roles_see_the_union_in_display_order() -> None:
    states = evaluate(("admin", "front_desk"), ALL_SCOPES, has_patient=True)

    keys = [state.capability.key for state in states]
    assert keys == ["codeword", "admin"]
    order = [capability.key for capability in CAPABILITIES]
    assert keys == sorted(keys, key=order.index)
