# SPDX-License-Identifier: Apache-2.0
"""SMART clinical scopes as the sandbox's resource server interprets them.

SMART App Launch 2.2, "Scopes and Launch Context":
https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html

    "``( 'patient' | 'user' | 'system' ) '/' ( fhir-resource | '*' ) '.'
    ( 'read' | 'write' | '*' | [c][r][u][d][s] )``" -- v1 ``read`` is ``rs``, ``write`` is
    ``cud`` and ``*`` is ``cruds``; v2 letters must appear in that order.

Granular v2 scopes with a ``?param=value`` suffix are not interpreted and grant nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "INTERACTION_LETTERS",
    "AccessDecision",
    "ResourceScope",
    "decide",
    "grant_scopes",
    "parse_scope",
]

INTERACTION_LETTERS = "cruds"
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)$")
_V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset(INTERACTION_LETTERS)}


@dataclass(frozen=True)
class ResourceScope:
    """A parsed clinical scope."""

    context: str
    resource_type: str
    permissions: frozenset[str]

    def covers_type(self, resource_type: str) -> bool:
        """Whether the scope names ``resource_type`` or ``*``."""
        return self.resource_type in {"*", resource_type}


def parse_scope(scope: str) -> ResourceScope | None:
    """Parse a v1 or v2 clinical scope; ``None`` for other scopes and malformed suffixes."""
    match = _SCOPE.match(scope)
    if match is None:
        return None
    context, resource_type, suffix = match.groups()
    permissions = _V1.get(suffix)
    if permissions is None:
        ordered = "".join(letter for letter in INTERACTION_LETTERS if letter in suffix)
        if not suffix or ordered != suffix:
            return None
        permissions = frozenset(suffix)
    return ResourceScope(context, resource_type, permissions)


def _allows(allowed: str, requested: str) -> bool:
    if allowed == requested:
        return True
    wide = parse_scope(allowed)
    narrow = parse_scope(requested)
    if wide is None or narrow is None or wide.context != narrow.context:
        return False
    return wide.covers_type(narrow.resource_type) and narrow.permissions <= wide.permissions


def grant_scopes(requested: str | None, allowed: tuple[str, ...]) -> list[str]:
    """The requested scopes the client registration allows, in request order, without repeats.

    A registered ``patient/*.cruds`` allows a request for ``patient/Appointment.rs``.
    """
    granted: list[str] = []
    for scope in (requested or "").split():
        if scope not in granted and any(_allows(item, scope) for item in allowed):
            granted.append(scope)
    return granted


@dataclass(frozen=True)
class AccessDecision:
    """Whether an interaction is allowed and, if so, to which patient's compartment."""

    allowed: bool
    patient: str | None = None


def decide(
    scopes: tuple[str, ...], token_patient: str | None, resource_type: str, letter: str
) -> AccessDecision:
    """Decide one interaction (``letter`` in ``cruds``) on ``resource_type``.

    ``user/`` and ``system/`` scopes allow every instance; ``patient/`` scopes allow only the
    token's patient compartment, and nothing when the token has no patient.
    """
    patient_scoped = False
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed is None or letter not in parsed.permissions:
            continue
        if not parsed.covers_type(resource_type):
            continue
        if parsed.context in {"user", "system"}:
            return AccessDecision(allowed=True)
        patient_scoped = True
    if patient_scoped and token_patient:
        return AccessDecision(allowed=True, patient=token_patient)
    return AccessDecision(allowed=False)
