# SPDX-License-Identifier: Apache-2.0
"""FHIR references and the Patient compartment.

FHIR R4 "References" (https://hl7.org/fhir/R4/references.html): a literal reference is relative
(``Patient/123``) or absolute; an absolute URL under the server's own base is the same resource.
The Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html) is
approximated by the elements a SMART ``patient/`` scope is checked against here: ``subject``,
``patient``, ``for``, ``participant.actor``, ``beneficiary``, Provenance ``target`` and AuditEvent
``entity.what``, when they reference a Patient.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "COMPARTMENT_PATHS",
    "parse_reference",
    "patients_of",
    "values_at",
]

_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]+)?$")

COMPARTMENT_PATHS: tuple[str, ...] = (
    "subject",
    "patient",
    "for",
    "participant.actor",
    "beneficiary",
    "target",
    "entity.what",
)


def values_at(data: Any, path: str) -> Iterator[Any]:
    """Yield every value at a dotted ``path``, flattening lists at each step."""
    current: list[Any] = [data]
    for step in path.split("."):
        following: list[Any] = []
        for item in current:
            if isinstance(item, dict) and step in item:
                value = item[step]
                following.extend(value if isinstance(value, list) else [value])
        current = following
    yield from current


def parse_reference(value: str, fhir_base: str) -> tuple[str, str] | None:
    """``(type, id)`` of a relative reference or an absolute one under ``fhir_base``."""
    base = fhir_base.rstrip("/") + "/"
    value = value.removeprefix(base)
    match = _RELATIVE.match(value)
    if match is None:
        return None
    return match.group(1), match.group(2)


def reference_version(value: str) -> str | None:
    """The version of a versioned reference (``Type/id/_history/vid``), else None."""
    _, found, version = value.rpartition("/_history/")
    return version if found and version else None


def patients_of(resource: dict[str, Any], fhir_base: str) -> set[str]:
    """Ids of the Patients whose compartment ``resource`` belongs to."""
    if resource.get("resourceType") == "Patient":
        resource_id = resource.get("id")
        return {str(resource_id)} if resource_id else set()
    found: set[str] = set()
    for path in COMPARTMENT_PATHS:
        for value in values_at(resource, path):
            if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
                continue
            parsed = parse_reference(value["reference"], fhir_base)
            if parsed is not None and parsed[0] == "Patient":
                found.add(parsed[1])
    return found
