# SPDX-License-Identifier: Apache-2.0
"""Errors raised by the SMART launch client, the FHIR client and Backend Services.

Each error carries a wire-style ``error`` code, a human ``description`` safe to show to a user
(no tokens, no patient data) and the HTTP ``status_code`` a web adapter should answer with.
"""

from __future__ import annotations

__all__ = [
    "AuthorizationDenied",
    "ClientAuthError",
    "DiscoveryError",
    "FhirConflict",
    "FhirError",
    "FhirGone",
    "FhirNotFound",
    "FhirPreconditionFailed",
    "FhirServerError",
    "FhirUnauthorized",
    "FhirValidationError",
    "IdTokenError",
    "IssuerNotAllowed",
    "ScopeError",
    "SmartLaunchError",
    "StateError",
    "TokenRequestError",
    "UpstreamUnavailable",
]


class SmartLaunchError(Exception):
    """Base class.  ``description`` is shown to users; keep secrets and PHI out of it."""

    error = "smart_launch_error"
    description = "The EHR sign-in could not be completed."
    status_code = 400

    def __init__(self, description: str | None = None) -> None:
        if description is not None:
            self.description = description
        super().__init__(self.description)


class IssuerNotAllowed(SmartLaunchError):
    """The ``iss`` is not on the tenant allow-list (checked before any outbound request)."""

    error = "issuer_not_allowed"
    description = "This EHR is not registered with Quietline."
    status_code = 400


class DiscoveryError(SmartLaunchError):
    """``.well-known/smart-configuration`` is missing, unreachable or unsafe."""

    error = "invalid_smart_configuration"
    description = "The EHR's SMART configuration could not be used."
    status_code = 502


class StateError(SmartLaunchError):
    """The ``state`` on the redirect is missing, unknown, reused, expired or not ours."""

    error = "invalid_state"
    description = "This sign-in link is not valid any more. Please launch Quietline again."
    status_code = 400


class AuthorizationDenied(SmartLaunchError):
    """The authorization endpoint returned an ``error`` (RFC 6749 section 4.1.2.1)."""

    error = "access_denied"
    description = "The EHR did not authorise Quietline."
    status_code = 403


class TokenRequestError(SmartLaunchError):
    """The token endpoint refused the request or answered with something unusable."""

    error = "token_request_failed"
    description = "The EHR refused to issue an access token."
    status_code = 502


class ClientAuthError(SmartLaunchError):
    """The client cannot authenticate (missing key, unsupported method or algorithm)."""

    error = "invalid_client"
    description = "Quietline's registration with this EHR is incomplete."
    status_code = 500


class IdTokenError(SmartLaunchError):
    """The id_token failed signature, ``iss``, ``aud`` or ``exp`` validation."""

    error = "invalid_id_token"
    description = "The EHR's identity token could not be verified; sign-in refused."
    status_code = 401


class ScopeError(SmartLaunchError):
    """Granted scopes lack something the launch cannot work without."""

    error = "insufficient_scope"
    description = "The EHR did not grant the access Quietline needs."
    status_code = 403


class UpstreamUnavailable(SmartLaunchError):
    """The EHR could not be reached in time."""

    error = "upstream_unavailable"
    description = "The EHR is not responding. Please try again in a moment."
    status_code = 503


class FhirError(SmartLaunchError):
    """A FHIR interaction failed.  ``outcome`` is the parsed OperationOutcome, if any."""

    error = "fhir_error"
    description = "The EHR rejected a request."
    status_code = 502

    def __init__(
        self,
        description: str | None = None,
        *,
        http_status: int | None = None,
        outcome: dict[str, object] | None = None,
    ) -> None:
        super().__init__(description)
        self.http_status = http_status
        self.outcome = outcome


class FhirUnauthorized(FhirError):
    """401/403 from the FHIR server."""

    error = "fhir_unauthorized"
    description = "The EHR refused access to this record."
    status_code = 403


class FhirNotFound(FhirError):
    """404 from the FHIR server."""

    error = "fhir_not_found"
    description = "The record was not found in the EHR."
    status_code = 404


class FhirGone(FhirError):
    """410 from the FHIR server (deleted)."""

    error = "fhir_gone"
    description = "The record was deleted in the EHR."
    status_code = 404


class FhirConflict(FhirError):
    """409, 412 or 428: the resource changed or needs a version; re-read, never overwrite."""

    error = "fhir_conflict"
    description = "The record changed in the EHR while you were working. It has been reloaded."
    status_code = 409


class FhirPreconditionFailed(FhirConflict):
    """412 Precondition Failed (stale If-Match) or a conditional create with many matches."""

    error = "fhir_precondition_failed"


class FhirValidationError(FhirError):
    """400/422, or a resource that does not parse as FHIR R4."""

    error = "fhir_invalid"
    description = "The EHR sent or refused malformed FHIR data."
    status_code = 502


class FhirServerError(FhirError):
    """5xx from the FHIR server."""

    error = "fhir_server_error"
    description = "The EHR had an internal error. Please try again in a moment."
    status_code = 502
