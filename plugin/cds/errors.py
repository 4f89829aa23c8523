# SPDX-License-Identifier: Apache-2.0
"""Errors of the CDS Hooks endpoints, answered as JSON (the caller is the EHR, not a person).

Messages say what was wrong with the request and never what Quietline knows about a client or
which EHRs are registered.
"""

from __future__ import annotations

from ..errors import PluginError

__all__ = [
    "CdsError",
    "InvalidRequest",
    "InvalidToken",
    "PrefetchUnavailable",
    "UnknownService",
]


class CdsError(PluginError):
    """Base class; :mod:`plugin.cds.views` renders it as ``{"error", "message"}``."""

    error = "cds_error"
    description = "The CDS request could not be handled."
    status_code = 500

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "message": self.description}


class InvalidToken(CdsError):
    """The EHR's JWT is missing, malformed, not allow-listed, expired or replayed."""

    error = "invalid_token"
    description = "The request's authorization token was refused."
    status_code = 401


class InvalidRequest(CdsError):
    """The request body does not follow CDS Hooks 2.0 or the appointment-book hook."""

    error = "invalid_request"
    description = "The request body is not a valid CDS Hooks request."
    status_code = 400


class PrefetchUnavailable(CdsError):
    """CDS Hooks 2.0 "Prefetch": the data is missing and Quietline cannot read it itself."""

    error = "prefetch_unavailable"
    description = (
        "The patient was not prefetched and could not be read from the EHR's FHIR server. "
        "Send prefetch.patient, or fhirServer with fhirAuthorization."
    )
    status_code = 412


class UnknownService(CdsError):
    error = "unknown_service"
    description = "There is no CDS service with this id. See GET /cds-services."
    status_code = 404
