# SPDX-License-Identifier: Apache-2.0
"""Role mapping (deny by default) and the one permission check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from plugin.authz import ROLE_PERMISSIONS
from plugin.authz import Permission
from plugin.authz import Role
from plugin.authz import claim_values
from plugin.authz import has_permission
from plugin.authz import roles_for

THERAPIST = "urn:example:staff-role|therapist"
DESK = "urn:example:staff-role|front-desk"
PERMISSIONS_CHECKED_ELSEWHERE: set[Permission] = set()
"""Permissions a service checks instead of a route's guard (none today)."""
MAPPING = {
    "users": {"Practitioner/7": ["admin"], "Practitioner/8": ["clinician", "superuser"]},
    "codes": {THERAPIST: ["clinician"], DESK: ["front_desk", "root"]},
}


def test_user_reference_maps_to_its_roles() -> None:
    assert roles_for("Practitioner/7", [], MAPPING) == ("admin",)


def test_practitioner_role_code_maps_to_its_roles() -> None:
    assert roles_for("Practitioner/99", [THERAPIST], MAPPING) == ("clinician",)


def test_user_and_code_roles_are_combined_without_duplicates_in_order() -> None:
    assert roles_for("Practitioner/7", [THERAPIST, DESK, THERAPIST], MAPPING) == (
        "admin",
        "clinician",
        "front_desk",
    )


def test_unknown_roles_are_dropped() -> None:
    assert roles_for("Practitioner/8", [DESK], MAPPING) == ("clinician", "front_desk")


@pytest.mark.parametrize(
    ("reference", "codes", "mapping"),
    [
        ("Practitioner/99", [], MAPPING),
        (None, ["urn:example:staff-role|janitor"], MAPPING),
        ("Practitioner/7", [THERAPIST], {}),
        ("Practitioner/7", [THERAPIST], {"users": ["Practitioner/7"], "codes": "clinician"}),
        (None, [], MAPPING),
    ],
    ids=["unmapped-user", "unmapped-code", "empty-mapping", "malformed-mapping", "nobody"],
)
def test_deny_by_default(reference: str | None, codes: list[str], mapping: dict) -> None:
    roles = roles_for(reference, codes, mapping)

    assert roles == ()
    assert not any(has_permission(roles, permission) for permission in Permission)


def test_code_is_matched_with_its_system() -> None:
    assert roles_for(None, ["urn:other:system|therapist", "therapist"], MAPPING) == ()


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_has_permission_follows_the_role_table(role: Role, permission: Permission) -> None:
    assert has_permission([role.value], permission) == (permission in ROLE_PERMISSIONS[role])


def test_role_table_separates_clinical_front_desk_and_admin_work() -> None:
    assert has_permission(["clinician"], Permission.NOTES_WRITE)
    assert not has_permission(["clinician"], Permission.ADMIN_MANAGE)
    assert has_permission(["front_desk"], Permission.CODEWORD_VERIFY)
    assert not has_permission(["front_desk"], Permission.NOTES_WRITE)
    assert not has_permission(["front_desk"], Permission.SCREENING_WRITE)
    assert has_permission(["admin"], Permission.ADMIN_MANAGE)
    assert not has_permission(["admin"], Permission.NOTES_WRITE)
    assert all(has_permission([role], Permission.HOME_VIEW) for role in Role)


def test_unknown_role_names_grant_nothing() -> None:
    assert not has_permission(["superuser", "ADMIN", "admin "], Permission.ADMIN_MANAGE)
    assert has_permission(["superuser", "admin"], Permission.ADMIN_MANAGE)


def test_permissions_are_area_resource_action() -> None:
    for permission in Permission:
        assert len(permission.value.split(":")) == 3


def test_roles_from_a_named_id_token_claim() -> None:
    mapping = {"claim": "roles", "map": {"ehr-therapist": "clinician", "ehr-desk": ["front_desk"]}}

    assert roles_for(None, (), mapping, {"roles": ["ehr-therapist", "other"]}) == ("clinician",)
    assert roles_for(None, (), mapping, {"roles": "ehr-desk"}) == ("front_desk",)
    assert roles_for(None, (), mapping, {"groups": ["ehr-therapist"]}) == ()
    assert roles_for(None, (), mapping, {}) == ()
    assert roles_for(None, (), {"map": {"ehr-therapist": "clinician"}}, {"roles": "x"}) == ()


def test_claim_values_are_strings_of_the_named_claim_only() -> None:
    mapping = {"claim": "roles"}

    assert claim_values(mapping, {"roles": ["a", 3, "", "b"], "email": "x@y"}) == ("a", "b")
    assert claim_values({}, {"roles": ["a"]}) == ()


def _checked_permissions(view: Callable[..., Any]) -> set[Permission]:
    """The permissions a registered view checks: the guard's marker or its closure's cells."""
    found: set[Permission] = set()
    current: Callable[..., Any] | None = view
    while current is not None:
        marker = getattr(current, "required_permission", None)
        if isinstance(marker, Permission):
            found.add(marker)
        for cell in getattr(current, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(value, Permission):
                found.add(value)
        current = getattr(current, "__wrapped__", None)
    return found


def test_every_permission_is_checked_by_a_route(flask_app: Flask) -> None:
    checked: dict[Permission, list[str]] = {}
    for rule in flask_app.url_map.iter_rules():
        for permission in _checked_permissions(flask_app.view_functions[rule.endpoint]):
            checked.setdefault(permission, []).append(rule.rule)

    unchecked = set(Permission) - set(checked) - PERMISSIONS_CHECKED_ELSEWHERE
    assert not unchecked, f"no route checks {sorted(unchecked)}"
    assert "/l/<handle>/review/<review_id>/risk" in checked[Permission.RISK_WRITE]


def test_only_clinical_permissions_that_have_pages_exist() -> None:
    values = {permission.value.split(":")[0] for permission in Permission}

    assert "notifications" not in values
    assert "referrals" not in values
