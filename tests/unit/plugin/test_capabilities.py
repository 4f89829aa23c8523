# SPDX-License-Identifier: Apache-2.0
"""Capabilities: filtered by role, disabled with a reason when a scope or the patient is missing."""

from __future__ import annotations

import pytest
from flask import Flask

from plugin.authz import Permission
from plugin.capabilities import CAPABILITIES
from plugin.capabilities import Capability
from plugin.capabilities import CapabilityState
from plugin.capabilities import built
from plugin.capabilities import evaluate
from smart_launch.scopes import ScopeSet

ALL_SCOPES = ScopeSet.parse(
    "patient/Patient.rs patient/DocumentReference.cru patient/Appointment.rus"
)


def _by_key(states: list[CapabilityState]) -> dict[str, CapabilityState]:
    return {state.capability.key: state for state in states}


def test_clinician_with_every_scope_and_a_patient_can_use_everything_clinical() -> None:
    states = evaluate(("clinician",), ALL_SCOPES, has_patient=True)

    assert [state.capability.key for state in states] == [
        "screening",
        "notes",
        "codeword-enroll",
    ]
    assert all(state.available and state.reason is None for state in states)


def test_missing_scope_disables_the_capability_and_names_the_resource() -> None:
    scopes = ScopeSet.parse("patient/Patient.rs patient/Appointment.rs")

    states = _by_key(evaluate(("clinician",), scopes, has_patient=True))

    assert states["screening"].available
    assert not states["notes"].available
    assert states["notes"].reason == "The EHR did not grant access to DocumentReference."
    assert states["codeword-enroll"].available


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


def test_only_capabilities_with_a_page_are_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    unbuilt = Capability(
        "later", "Not built yet", "No page.", Permission.SCREENING_WRITE, (), needs_patient=False
    )
    monkeypatch.setattr("plugin.capabilities.CAPABILITIES", (*CAPABILITIES, unbuilt))

    keys = [
        state.capability.key for state in evaluate(("clinician",), ALL_SCOPES, has_patient=True)
    ]

    assert "later" not in keys
    assert unbuilt not in built()
    assert keys == ["screening", "notes", "codeword-enroll"]


def test_every_capability_names_a_page_that_exists(flask_app: Flask) -> None:
    endpoints = set(flask_app.view_functions)

    assert built() == CAPABILITIES
    for capability in CAPABILITIES:
        assert capability.endpoint in endpoints, capability.key


def test_the_admin_card_names_only_the_pages_that_exist(flask_app: Flask) -> None:
    admin = next(capability for capability in CAPABILITIES if capability.key == "admin")

    assert admin.summary == "The verification protocol and the audit log."
    assert {"admin.audit", "admin.protocol"} <= set(flask_app.view_functions)
    for unbuilt in ("retention", "directory", "Contact preferences", "Warm handoff"):
        assert all(unbuilt not in c.summary + c.title for c in CAPABILITIES)
