# SPDX-License-Identifier: Apache-2.0
"""The outbox's seams and its domain errors.

The outbox depends on things it does not build itself: a :class:`PayloadCipher` that seals
the resource JSON at rest, a :class:`ResourceCreator` (a FHIR client bound to one tenant's
EHR), a :class:`TenantDirectory` that turns a tenant id into its EHR registration and
:class:`UserClients`, which hands out a client acting with the token of the launch that queued
a write.  :func:`classify_failure` sorts the errors a delivery can meet into retry-later,
needs-attention and give-up.
"""

from __future__ import annotations

from typing import Literal
from typing import Protocol

from fhir.resources.R4B.resource import Resource

from smart_launch import errors
from smart_launch.backend import TokenEndpointUnavailable
from smart_launch.fhir import CreateResult

from ..errors import PluginError
from ..tenants.services import TenantView

__all__ = [
    "Disposition",
    "MissingIdempotencyKey",
    "NoDeliveryCredentials",
    "NotRetryable",
    "OutboxError",
    "OutboxItemNotFound",
    "PayloadCipher",
    "ResourceCreator",
    "TenantDirectory",
    "UserClients",
    "classify_failure",
]

Disposition = Literal["retry", "attention", "fail"]


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
    """Looks a tenant up by id (:class:`plugin.tenants.interfaces.TenantRepository`)."""

    def by_id(self, tenant_id: str) -> TenantView:
        """The tenant's registration; raises ``IssuerNotAllowed`` when it is unknown."""
        ...

    def backend_secret(self, view: TenantView) -> str | None:
        """The separately registered backend client's secret, if it uses one."""
        ...


class UserClients(Protocol):
    """FHIR clients acting with the token of a live launch (:mod:`plugin.outbox.delivery`)."""

    def for_launch(self, handle: str, tenant: str, resource: Resource) -> ResourceCreator | None:
        """A client for the launch ``handle`` of ``tenant`` when it is still live and its
        granted scopes allow creating ``resource``; ``None`` otherwise."""
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
    """Only a failed item, or one needing attention, can be put back in the queue."""

    error = "outbox_not_retryable"
    description = "Only a failed EHR delivery can be retried."
    status_code = 409


class NoDeliveryCredentials(errors.ClientAuthError):
    """No live launch, no backend client, and Backend Services on the launch client not allowed.

    A :class:`~smart_launch.errors.ClientAuthError`: the registration with this EHR is
    incomplete, which callers of Backend Services (bypass detection too) already handle.
    """

    error = "no_delivery_credentials"
    description = (
        "Quietline has no way to sign in to the EHR for this delivery. An administrator needs "
        "to register a backend client for this EHR; then try again."
    )
    status_code = 503


_TRANSIENT: tuple[type[Exception], ...] = (
    errors.UpstreamUnavailable,  # connection refused, timeouts
    errors.FhirServerError,  # 5xx
    errors.DiscoveryError,  # the SMART configuration is also served by the (down) EHR
    TokenEndpointUnavailable,  # 429/5xx from the token endpoint
)
_ATTENTION: tuple[type[Exception], ...] = (
    errors.TokenRequestError,  # the EHR refused the client: a registration to fix
    errors.ClientAuthError,  # our side of the registration is incomplete
    NoDeliveryCredentials,
)
_TRANSIENT_STATUSES = frozenset({408, 429})


def classify_failure(exc: BaseException) -> tuple[str, Disposition]:
    """A short code for ``exc`` (never its text, which may echo the resource) and what to do:
    ``retry`` later, wait for a person (``attention``), or ``fail``."""
    if isinstance(exc, _TRANSIENT):
        return _code(exc), "retry"
    if isinstance(exc, _ATTENTION):
        return _code(exc), "attention"
    if isinstance(exc, errors.SmartLaunchError):
        status = getattr(exc, "http_status", None)
        return _code(exc), "retry" if status in _TRANSIENT_STATUSES else "fail"
    if isinstance(exc, PluginError):  # e.g. SealError: the payload cannot be opened
        return exc.error, "fail"
    if isinstance(exc, ValueError):  # the stored payload no longer parses as its type
        return "payload_invalid", "fail"
    return "internal_error", "retry"


def _code(exc: BaseException) -> str:
    error = getattr(exc, "error", "internal_error")
    status = getattr(exc, "http_status", None)
    return f"{error}:{status}" if status else str(error)
