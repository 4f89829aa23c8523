# SPDX-License-Identifier: Apache-2.0
"""The outbox: durable, idempotent delivery of EHR writes (design section 6).

A write is queued with :meth:`Outbox.enqueue` in the same transaction as the local change it
belongs to; :class:`OutboxWorker` delivers it with a FHIR conditional create on an identifier,
retrying with backoff until it arrives exactly once or fails for a reason a retry cannot fix.
"""

from .interfaces import MissingIdempotencyKey
from .interfaces import NotRetryable
from .interfaces import OutboxError
from .interfaces import OutboxItemNotFound
from .interfaces import PayloadCipher
from .interfaces import ResourceCreator
from .interfaces import TenantDirectory
from .models import OutboxItem
from .models import OutboxStatus
from .services import OPEN_STATUSES
from .services import Outbox
from .services import OutboxEntry
from .worker import DEFAULT_BACKEND_SCOPE
from .worker import OutboxWorker
from .worker import backend_client_factory

__all__ = [
    "DEFAULT_BACKEND_SCOPE",
    "OPEN_STATUSES",
    "MissingIdempotencyKey",
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
    "backend_client_factory",
]
