# SPDX-License-Identifier: Apache-2.0
"""Roles, permissions and the role mapping from ``fhirUser``.

Deny by default: a user gets a role only when the tenant's mapping names their ``fhirUser``
reference, one of their role codes (from PractitionerRole resources: see
:mod:`plugin.launch.roles`) or a value of the id_token claim the mapping names.  Permissions are
``"area:resource:action"`` strings, checked in one place (:func:`has_permission`).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Role",
    "claim_values",
    "has_permission",
    "roles_for",
]


class Role(StrEnum):
    CLINICIAN = "clinician"
    FRONT_DESK = "front_desk"
    ADMIN = "admin"


class Permission(StrEnum):
    HOME_VIEW = "launch:home:read"
    SCREENING_WRITE = "screening:record:write"
    RISK_WRITE = "risk:review:write"
    NOTES_WRITE = "notes:entry:write"
    CODEWORD_ENROLL = "codeword:word:enroll"
    CODEWORD_VERIFY = "codeword:word:verify"
    ADMIN_MANAGE = "admin:settings:write"
    AUDIT_READ = "audit:log:read"
    VAULT_READ = "vault:record:read"


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.CLINICIAN: frozenset(
        {
            Permission.HOME_VIEW,
            Permission.SCREENING_WRITE,
            Permission.RISK_WRITE,
            Permission.NOTES_WRITE,
            Permission.CODEWORD_ENROLL,
            Permission.VAULT_READ,
        }
    ),
    Role.FRONT_DESK: frozenset({Permission.HOME_VIEW, Permission.CODEWORD_VERIFY}),
    Role.ADMIN: frozenset({Permission.HOME_VIEW, Permission.ADMIN_MANAGE, Permission.AUDIT_READ}),
}


def has_permission(roles: Iterable[str], permission: Permission) -> bool:
    """The one permission check."""
    return any(
        permission in ROLE_PERMISSIONS.get(Role(role), frozenset())
        for role in roles
        if role in Role.__members__.values()
    )


def claim_values(mapping: Mapping[str, Any], claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The string values of the id_token claim that ``mapping["claim"]`` names, if any."""
    name = mapping.get("claim")
    if not isinstance(name, str) or not name:
        return ()
    value = claims.get(name)
    items = value if isinstance(value, list) else [value]
    return tuple(item for item in items if isinstance(item, str) and item)


def _as_roles(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value)
    return ()


def roles_for(
    fhir_user_reference: str | None,
    role_codes: Iterable[str],
    mapping: Mapping[str, Any],
    claims: Mapping[str, Any] | None = None,
) -> tuple[str, ...]:
    """Map a user to Quietline roles.

    :param fhir_user_reference: ``Practitioner/123`` style reference of the user.
    :param role_codes: ``system|code`` strings from the user's role resources.
    :param mapping: the tenant's ``{"users": {ref: [roles]}, "codes": {system|code: [roles]},
        "claim": name, "map": {claim value: role or [roles]}}``; every key is optional.
    :param claims: the validated id_token claims (for ``"claim"``/``"map"``).
    """
    found: dict[str, None] = {}
    users = mapping.get("users", {})
    codes = mapping.get("codes", {})
    values = mapping.get("map", {})
    if fhir_user_reference and isinstance(users, Mapping):
        for role in _as_roles(users.get(fhir_user_reference, ())):
            found.setdefault(role, None)
    if isinstance(codes, Mapping):
        for code in role_codes:
            for role in _as_roles(codes.get(code, ())):
                found.setdefault(role, None)
    if isinstance(values, Mapping):
        for value in claim_values(mapping, claims or {}):
            for role in _as_roles(values.get(value, ())):
                found.setdefault(role, None)
    valid = set(Role.__members__.values())
    return tuple(role for role in found if role in valid)
