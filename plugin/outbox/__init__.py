# SPDX-License-Identifier: Apache-2.0
"""The outbox: durable, idempotent delivery of EHR writes (design section 6).

A write is queued with :meth:`Outbox.enqueue` in the same transaction as the local change it
belongs to; :class:`OutboxWorker` delivers it with a FHIR conditional create on an identifier,
retrying with backoff until it arrives exactly once or fails for a reason a retry cannot fix.
"""

from .backend import DEFAULT_BACKEND_SCOPE
from .backend import backend_client_factory
from .interfaces import MissingIdempotencyKey
from .interfaces import NoDeliveryCredentials
from .interfaces import NotRetryable
from .interfaces import OutboxError
from .interfaces import OutboxItemNotFound
from .interfaces import PayloadCipher
from .interfaces import ResourceCreator
from .interfaces import TenantDirectory
from .interfaces import UserClients
from .models import OutboxItem
from .models import OutboxStatus
from .services import OPEN_STATUSES
from .services import Outbox
from .services import OutboxEntry
from .worker import OutboxWorker

__all__ = [
    "DEFAULT_BACKEND_SCOPE",
    "OPEN_STATUSES",
    "MissingIdempotencyKey",
    "NoDeliveryCredentials",
    "NotRetryable",
    "Outbox",
    "OutboxEntry",
    "OutboxError",
    "OutboxItem",
    "OutboxItemNotFound",
    "OutboxStatus",
    "OutboxWorker",
    "PayloadCipher",
    "ResourceCreator",
    "TenantDirectory",
    "UserClients",
    "backend_client_factory",
]
