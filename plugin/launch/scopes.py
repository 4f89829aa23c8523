# SPDX-License-Identifier: Apache-2.0
"""The scopes Quietline asks an EHR for: the minimum its capabilities use, no wildcards.

:data:`DEFAULT_SCOPE` is computed, never listed by hand: the launch's own scopes
(:data:`LAUNCH_SCOPES`) plus every scope a built capability declares
(:mod:`plugin.capabilities`), with the permissions on one resource merged into one scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..capabilities import built

__all__ = ["DEFAULT_SCOPE", "LAUNCH_SCOPES", "compute_scope"]

LAUNCH_SCOPES: tuple[str, ...] = (
    "launch",
    "openid",
    "fhirUser",
    "online_access",
    # The user's role codes (plugin.launch.roles): PractitionerRole search and read, Person read.
    "user/PractitionerRole.rs",
    "user/Person.r",
    # The patient banner on every launched page.
    "patient/Patient.r",
)
"""What the launch itself uses, whatever the capabilities."""

_ORDER = "cruds"
_RESOURCE = re.compile(r"^(patient|user|system)/([A-Za-z]+)\.([cruds]+)$")


def compute_scope(launch: Iterable[str], declared: Iterable[str]) -> str:
    """``launch`` then ``declared``, resource scopes merged per context and type (SMART v2).

    :raises ValueError: for a wildcard or a scope that is not a plain v2 resource scope.
    """
    others: dict[str, None] = {}
    resources: dict[tuple[str, str], set[str]] = {}
    for scope in (*launch, *declared):
        if "/" not in scope:
            others.setdefault(scope, None)
            continue
        match = _RESOURCE.match(scope)
        if match is None:
            raise ValueError(f"not a plain SMART v2 resource scope: {scope}")
        resources.setdefault((match[1], match[2]), set()).update(match[3])
    merged = [
        f"{context}/{kind}.{''.join(p for p in _ORDER if p in letters)}"
        for (context, kind), letters in resources.items()
    ]
    return " ".join([*others, *merged])


DEFAULT_SCOPE = compute_scope(
    LAUNCH_SCOPES,
    (
        scope
        for capability in built()
        for scope in (*capability.scopes, *capability.optional_scopes)
    ),
)
