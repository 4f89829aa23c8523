# SPDX-License-Identifier: Apache-2.0
"""Bearer-token authentication and SMART scope enforcement for the FHIR endpoints.

RFC 6750 section 3: a missing, unknown or expired token is answered 401 with
``WWW-Authenticate: Bearer``; a valid token without the needed scope is answered 403.
A ``patient/`` scope limits every interaction to the token's patient compartment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from flask import request

from .fhir_http import FhirHttpError
from .references import parse_reference
from .references import patients_of
from .scopes import decide

if TYPE_CHECKING:
    from .models import TokenRecord
    from .search import SearchRequest
    from .state import SandboxState

__all__ = ["Access", "authenticate"]

_INTERACTIONS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


def authenticate(state: SandboxState) -> TokenRecord:
    """The token record of the request's ``Authorization: Bearer`` header.

    :raises FhirHttpError: 401 when the token is missing, unknown, revoked or expired.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise FhirHttpError(
            401,
            "login",
            "This request needs an access token.",
            headers={"WWW-Authenticate": 'Bearer realm="sandbox-fhir"'},
        )
    record = state.grants.active_access_token(token.strip())
    if record is None:
        raise FhirHttpError(
            401,
            "login",
            "The access token is invalid or has expired.",
            headers={
                "WWW-Authenticate": 'Bearer realm="sandbox-fhir", error="invalid_token"',
            },
        )
    return record


class Access:
    """Scope checks for one authenticated request."""

    def __init__(self, token: TokenRecord, fhir_base: str) -> None:
        self.token = token
        self._fhir_base = fhir_base

    def require(self, resource_type: str, letter: str) -> str | None:
        """Check that the token allows ``letter`` (one of ``cruds``) on ``resource_type``.

        :returns: the patient id the interaction is confined to, or ``None`` when unconfined.
        :raises FhirHttpError: 403 when no granted scope allows it.
        """
        decision = decide(self.token.scopes, self.token.patient, resource_type, letter)
        if not decision.allowed:
            raise FhirHttpError(
                403,
                "forbidden",
                f"The access token's scopes do not allow {_INTERACTIONS[letter]} "
                f"of {resource_type}.",
                headers={
                    "WWW-Authenticate": 'Bearer realm="sandbox-fhir", error="insufficient_scope"'
                },
            )
        return decision.patient

    def in_compartment(self, patient: str, resource: dict[str, Any]) -> bool:
        """Whether ``resource`` belongs to ``patient``'s compartment."""
        return patient in patients_of(resource, self._fhir_base)

    def require_search_within(self, patient: str, search: SearchRequest) -> None:
        """Refuse (403) a patient-confined search whose ``patient``/``subject`` names another."""
        for criterion in search.criteria:
            if criterion.name not in {"patient", "subject"} or criterion.modifier == "missing":
                continue
            for value in criterion.values:
                parsed = parse_reference(value, self._fhir_base)
                target = parsed or (criterion.modifier or "Patient", value)
                if target != ("Patient", patient):
                    raise FhirHttpError(
                        403,
                        "forbidden",
                        "This access token is limited to one patient; the search names another.",
                    )

    def require_in_compartment(self, patient: str | None, resource: dict[str, Any]) -> None:
        """Refuse (403) when ``patient`` is set and ``resource`` is outside its compartment."""
        if patient is None:
            return
        if not self.in_compartment(patient, resource):
            raise FhirHttpError(
                403,
                "forbidden",
                f"{resource.get('resourceType', 'The resource')} is outside the patient "
                "compartment this access token is limited to.",
            )
