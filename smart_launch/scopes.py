# SPDX-License-Identifier: Apache-2.0
"""SMART scopes: parsing, comparison of granted with requested, and access checks.

SMART App Launch 2.2, "Scopes and Launch Context":
https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html

    "(patient|user|system)/(fhir-resource|*).[c][r][u][d][s]" - v2; v1 ``.read`` equals ``.rs``
    and ``.write`` equals ``.cud``.  "The scope parameter in the token response ... may be
    different from the scopes requested by the app" - so the app must look at what it got.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ScopeSet",
    "parse_scope",
]

_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\."
    r"(?P<perm>read|write|\*|c?r?u?d?s?)(?:\?(?P<query>.+))?$"
)
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_ORDER = "cruds"


def parse_scope(value: str | None) -> tuple[str, ...]:
    """Split a space-delimited scope string, dropping duplicates but keeping order."""
    seen: dict[str, None] = {}
    for item in (value or "").split():
        seen.setdefault(item, None)
    return tuple(seen)


@dataclass(frozen=True)
class _ResourceGrant:
    context: str
    resource_type: str
    permissions: str
    query: str | None


def _resource_grant(scope: str) -> _ResourceGrant | None:
    match = _RESOURCE_SCOPE.match(scope)
    if match is None:
        return None
    perm = match["perm"]
    permissions = _V1.get(perm, perm)
    if not permissions:
        return None
    return _ResourceGrant(match["context"], match["type"], permissions, match["query"])


@dataclass(frozen=True)
class ScopeSet:
    """An immutable set of granted scopes."""

    scopes: tuple[str, ...]

    @classmethod
    def parse(cls, value: str | None) -> ScopeSet:
        return cls(parse_scope(value))

    def __contains__(self, scope: object) -> bool:
        return scope in self.scopes

    def __str__(self) -> str:
        return " ".join(self.scopes)

    def missing_from(self, requested: ScopeSet) -> tuple[str, ...]:
        """Requested scopes that this (granted) set does not cover, in request order."""
        return tuple(scope for scope in requested.scopes if not self.covers(scope))

    def covers(self, scope: str) -> bool:
        """True when ``scope`` is granted exactly or implied by a broader resource scope.

        Write never implies read: ``patient/Appointment.u`` does not cover ``.r``.
        """
        if scope in self.scopes:
            return True
        wanted = _resource_grant(scope)
        if wanted is None or wanted.query is not None:
            return False
        return any(
            grant.query is None
            and grant.context == wanted.context
            and grant.resource_type in {"*", wanted.resource_type}
            and all(letter in grant.permissions for letter in wanted.permissions)
            for grant in self._grants()
        )

    def allows(self, resource_type: str, interaction: str, *, context: str = "patient") -> bool:
        """Whether ``interaction`` (one of c r u d s) on ``resource_type`` is granted.

        ``user/`` scopes also allow patient-context access; ``patient/`` scopes do not allow
        ``user/`` access.
        """
        if interaction not in _ORDER or len(interaction) != 1:
            return False
        contexts = {"patient": {"patient", "user"}, "user": {"user"}, "system": {"system"}}
        usable = contexts.get(context, set())
        return any(
            grant.query is None
            and grant.context in usable
            and grant.resource_type in {"*", resource_type}
            and interaction in grant.permissions
            for grant in self._grants()
        )

    def _grants(self) -> list[_ResourceGrant]:
        return [grant for grant in map(_resource_grant, self.scopes) if grant is not None]
