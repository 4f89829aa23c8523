# SPDX-License-Identifier: Apache-2.0
"""The outbox's seams and its domain errors.

The outbox depends on three things it does not build itself: a :class:`PayloadCipher` that
seals the resource JSON at rest, a :class:`ResourceCreator` (a FHIR client bound to one tenant's
EHR) and a :class:`TenantDirectory` that turns a tenant id into its EHR registration.
:func:`classify_failure` sorts the errors a delivery can meet into retry-later and give-up.
"""

from __future__ import annotations

from typing import Protocol

from fhir.resources.R4B.resource import Resource

from smart_launch import errors
from smart_launch.fhir import CreateResult

from ..errors import PluginError
from ..tenants.services import TenantView

__all__ = [
    "MissingIdempotencyKey",
    "NotRetryable",
    "OutboxError",
    "OutboxItemNotFound",
    "PayloadCipher",
    "ResourceCreator",
    "TenantDirectory",
    "classify_failure",
]


class PayloadCipher(Protocol):
    """Authenticated encryption of one outbox payload; ``aad`` binds it to its row.

    :class:`plugin.crypto.Sealer` satisfies this protocol.
    """

    def seal(self, data: bytes, /, *, aad: bytes) -> bytes:
        """Encrypt ``data``; the blob only opens with the same ``aad``."""
        ...

    def open(self, blob: bytes, /, *, aad: bytes) -> bytes:
        """Decrypt ``blob``; raises when it was tampered with or sealed under another aad."""
        ...


class ResourceCreator(Protocol):
    """The part of :class:`smart_launch.fhir.FhirClient` the worker needs."""

    def create(self, resource: Resource, *, if_none_exist: str | None = None) -> CreateResult:
        """POST the resource; with ``if_none_exist`` a FHIR conditional create."""
        ...


class TenantDirectory(Protocol):
    """Looks a tenant up by id (:class:`plugin.tenants.services.SqlTenantRepository`)."""

    def by_id(self, tenant_id: str) -> TenantView:
        """The tenant's registration; raises ``IssuerNotAllowed`` when it is unknown."""
        ...


class OutboxError(PluginError):
    """Base class of the outbox's errors."""

    error = "outbox_error"
    description = "The EHR write could not be queued."
    status_code = 400


class MissingIdempotencyKey(OutboxError):
    """The resource does not carry the identifier that makes its delivery idempotent."""

    error = "outbox_missing_identifier"
    description = "The EHR write has no idempotency identifier; it was not queued."
    status_code = 500


class OutboxItemNotFound(OutboxError):
    """No outbox item with this id for this tenant."""

    error = "outbox_item_not_found"
    description = "This EHR delivery was not found."
    status_code = 404


class NotRetryable(OutboxError):
    """Only a failed item can be put back in the queue."""

    error = "outbox_not_retryable"
    description = "Only a failed EHR delivery can be retried."
    status_code = 409


_TRANSIENT: tuple[type[Exception], ...] = (
    errors.UpstreamUnavailable,  # connection refused, timeouts
    errors.FhirServerError,  # 5xx
    errors.DiscoveryError,  # the SMART configuration is also served by the (down) EHR
    errors.TokenRequestError,  # registration fixable by an admin; capped by max_attempts
)
_TRANSIENT_STATUSES = frozenset({408, 429})


def classify_failure(exc: BaseException) -> tuple[str, bool]:
    """A short code for ``exc`` (never its text, which may echo the resource) and whether a
    later attempt may succeed."""
    if isinstance(exc, errors.SmartLaunchError):
        status = getattr(exc, "http_status", None)
        code = f"{exc.error}:{status}" if status else exc.error
        return code, isinstance(exc, _TRANSIENT) or status in _TRANSIENT_STATUSES
    if isinstance(exc, PluginError):  # e.g. SealError: the payload cannot be opened
        return exc.error, False
    if isinstance(exc, ValueError):  # the stored payload no longer parses as its type
        return "payload_invalid", False
    return "internal_error", True
