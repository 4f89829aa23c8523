# SPDX-License-Identifier: Apache-2.0
"""Where a launched user's role codes come from, for each kind of ``fhirUser``.

SMART App Launch 2.2: ``fhirUser`` is "a relative or absolute" URL of a Practitioner,
PractitionerRole, Patient, RelatedPerson or Person.  Quietline reads role codes from:

- a ``Practitioner``: the ``code`` of every PractitionerRole whose ``practitioner`` it is;
- a ``PractitionerRole``: its own ``code``;
- a ``Person``: the roles of each Practitioner (or PractitionerRole) in ``Person.link``.

Only references on the launch's FHIR base are read ("the app SHOULD NOT send its token to other
servers").  A read that fails yields no codes: the user is then denied, never let in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from smart_launch.errors import SmartLaunchError
from smart_launch.fhir import FhirClient
from smart_launch.launch import LaunchResult

__all__ = ["RoleEvidence", "role_codes"]

log = logging.getLogger(__name__)
_MAX_LINKS = 5


@dataclass(frozen=True)
class RoleEvidence:
    """What was seen for a user: the ``fhirUser`` type and ``system|code`` role codes."""

    fhir_user_type: str | None
    codes: tuple[str, ...]


class _StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token


def _codes_of(resource: Any) -> list[str]:
    codes: list[str] = []
    for concept in getattr(resource, "code", None) or []:
        codes.extend(
            f"{coding.system or ''}|{coding.code}" for coding in concept.coding or [] if coding.code
        )
    return codes


def _local(reference: str | None, base: str) -> str | None:
    """``Type/id`` when ``reference`` is relative or on ``base``; ``None`` for other servers."""
    if not reference:
        return None
    prefix = base.rstrip("/") + "/"
    if reference.startswith(prefix):
        reference = reference.removeprefix(prefix)
    if "://" in reference:
        return None
    parts = reference.strip("/").split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 else None


def _practitioner_codes(client: FhirClient, practitioner: str) -> list[str]:
    codes: list[str] = []
    for role in client.search("PractitionerRole", {"practitioner": practitioner}):
        if role.get_resource_type() == "PractitionerRole":  # not an _include the server added
            codes.extend(_codes_of(role))
    return codes


def _codes_for(client: FhirClient, reference: str, base: str, *, depth: int = 0) -> list[str]:
    kind, _, ident = reference.partition("/")
    if kind == "Practitioner":
        return _practitioner_codes(client, reference)
    if kind == "PractitionerRole":
        return _codes_of(client.read("PractitionerRole", ident).resource)
    if kind == "Person" and depth == 0:
        person = client.read("Person", ident).resource
        codes: list[str] = []
        for link in (getattr(person, "link", None) or [])[:_MAX_LINKS]:
            target = _local(getattr(link.target, "reference", None), base)
            if target and target.split("/")[0] in {"Practitioner", "PractitionerRole"}:
                codes.extend(_codes_for(client, target, base, depth=1))
        return codes
    return []


def role_codes(result: LaunchResult, http: requests.Session) -> RoleEvidence:
    """The role codes of the launched user, read from the EHR with the launch's token."""
    context = result.context
    kind = context.fhir_user_type
    reference = _local(context.fhir_user, context.iss)
    if reference is None or kind not in {"Practitioner", "PractitionerRole", "Person"}:
        return RoleEvidence(kind, ())
    client = FhirClient(context.iss, _StaticToken(result.tokens.access_token), session=http)
    try:
        codes = _codes_for(client, reference, context.iss)
    except SmartLaunchError as exc:
        log.warning("user roles unavailable: %s", exc.error)
        codes = []
    return RoleEvidence(kind, tuple(dict.fromkeys(codes)))
