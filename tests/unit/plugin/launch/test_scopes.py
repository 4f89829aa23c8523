# SPDX-License-Identifier: Apache-2.0
"""The scopes Quietline asks for are exactly the FHIR interactions its code performs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plugin.capabilities import built
from plugin.launch.scopes import DEFAULT_SCOPE
from plugin.launch.scopes import compute_scope
from smart_launch.scopes import ScopeSet

PLUGIN = Path(__file__).resolve().parents[4] / "plugin"

INTERACTIONS: dict[tuple[str, str, str], str] = {
    ("user", "PractitionerRole", "s"): "launch.roles: the user's roles by practitioner",
    ("user", "PractitionerRole", "r"): "launch.roles: a PractitionerRole fhirUser",
    ("user", "Person", "r"): "launch.roles: a Person fhirUser and its links",
    ("patient", "Patient", "r"): "patient banner; screening contacts; enrollment word rules",
    ("patient", "RelatedPerson", "s"): "screening: the contacts review",
    ("patient", "Appointment", "s"): "codeword.schedule and the enrollment baseline",
    ("patient", "Appointment", "r"): "codeword.appointments: the appointment before a change",
    ("patient", "Appointment", "u"): "codeword.appointments: reschedule and cancel (If-Match)",
    ("patient", "DocumentReference", "c"): "notes: the minimal note, through the outbox",
    ("patient", "Provenance", "c"): "codeword: the Provenance of a change, through the outbox",
}
"""Every FHIR interaction made with a launch's token, and where.

EHR Communications to practitioners and the bypass-detection searches use the separate Backend
Services client (``system/`` scopes), not the launch's token.
"""
LAUNCH_ONLY = {"launch", "openid", "fhirUser", "online_access"}
_CALL = re.compile(r"\.(read|search|update_with|update)\(\s*\"([A-Z][A-Za-z]+)\"")


def _interactions(scope: str) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for item in scope.split():
        if "/" in item:
            context, rest = item.split("/", 1)
            kind, letters = rest.split(".", 1)
            found.update((context, kind, letter) for letter in letters)
    return found


def test_default_scope_is_exactly_the_interactions_the_code_performs() -> None:
    assert _interactions(DEFAULT_SCOPE) == set(INTERACTIONS)
    assert {item for item in DEFAULT_SCOPE.split() if "/" not in item} == LAUNCH_ONLY


def test_default_scope_has_no_wildcard_and_no_repeats() -> None:
    scopes = DEFAULT_SCOPE.split()

    assert "*" not in DEFAULT_SCOPE
    assert len(scopes) == len(set(scopes))
    assert len({item.split(".")[0] for item in scopes}) == len(scopes)


def test_every_fhir_call_in_the_plugin_is_for_a_requested_resource_type() -> None:
    requested = {kind for _, kind, _ in INTERACTIONS}
    calls = {
        (match[1], match[2], path.relative_to(PLUGIN).as_posix())
        for path in PLUGIN.rglob("*.py")
        for match in _CALL.finditer(path.read_text(encoding="utf-8"))
    }

    assert calls
    assert {kind for _, kind, _ in calls} <= requested
    letters = {"read": "r", "search": "s", "update": "u", "update_with": "u"}
    granted = ScopeSet.parse(DEFAULT_SCOPE)
    for verb, kind, where in calls:
        assert granted.allows(kind, letters[verb]), (verb, kind, where)


def test_every_built_capability_is_covered_by_the_default_scope() -> None:
    granted = ScopeSet.parse(DEFAULT_SCOPE)

    for capability in built():
        for scope in (*capability.scopes, *capability.optional_scopes):
            assert granted.covers(scope), (capability.key, scope)


def test_permissions_on_one_resource_merge_into_one_scope_in_smart_order() -> None:
    merged = compute_scope(
        ("openid", "patient/Patient.r"),
        ("patient/Appointment.s", "patient/Patient.r", "patient/Appointment.ur"),
    )

    assert merged == "openid patient/Patient.r patient/Appointment.rus"


@pytest.mark.parametrize("scope", ["patient/*.r", "patient/Patient.read", "user/Patient.*"])
def test_wildcards_and_v1_scopes_are_refused(scope: str) -> None:
    with pytest.raises(ValueError, match="resource scope"):
        compute_scope(("openid",), (scope,))
