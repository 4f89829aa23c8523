# SPDX-License-Identifier: Apache-2.0
"""The ``outbox_items`` table: one durable row per EHR write still to be (or already) delivered.

A row is inserted in the same transaction as the local change it belongs to.  The resource JSON
is stored only sealed (``sealed_payload``); the plaintext columns hold no PHI: ``created_by``
names staff, ``patient_pseudonym`` is a keyed pseudonym and ``last_error_code`` is a short
code, never the EHR's text (which may echo the resource).  Once the EHR holds the resource the
payload is emptied: Quietline keeps no second copy of the note.

The EHR's identifiers would re-identify the pseudonym for anyone who can also read the EHR, so
they are kept sealed (AES-GCM, the row id in the associated data): ``identifier_sealed`` (the
idempotency identifier, or the ``Appointment/<id>/_history/<v>`` a Provenance targets),
``remote_id_sealed`` (the created resource's id) and ``launch_sealed`` (the launch that queued
the write).  ``identifier_value`` holds the identifier in the clear only until delivery, for
the conditional create; idempotency of queueing rests on ``identifier_hash``, a keyed hash.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime
from ..tenants.models import Tenant

__all__ = ["OutboxItem", "OutboxStatus", "UtcDateTime"]


class OutboxStatus(StrEnum):
    """Where an item is in its life: pending -> delivering -> delivered, or failed.

    ``needs_attention``: no access token could be obtained (no live launch and no usable
    backend client, or the token endpoint refused).  The item waits for a person to fix the
    registration and retry it; it is never retried silently.
    """

    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"


_STATUSES = ", ".join(f"'{status.value}'" for status in OutboxStatus)


class OutboxItem(Base):
    """One queued EHR write.

    ``attempts`` counts claims (delivery attempts started); ``claim_token`` identifies the
    worker holding the lease, so a worker whose lease expired cannot overwrite the outcome
    recorded by the one that took the item over.
    """

    __tablename__ = "outbox_items"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        UniqueConstraint(
            "tenant_id", "kind", "identifier_hash", name="uq_outbox_items_idempotency"
        ),
        Index("ix_outbox_items_due", "status", "next_attempt_at"),
        Index("ix_outbox_items_lease", "status", "lease_until"),
        Index("ix_outbox_items_patient", "tenant_id", "patient_pseudonym", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey(Tenant.id))
    kind: Mapped[str] = mapped_column(String(16))
    resource_type: Mapped[str] = mapped_column(String(64))
    identifier_system: Mapped[str] = mapped_column(String(255))
    identifier_value: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """The identifier in the clear, until delivery (then ``NULL``)."""
    identifier_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    identifier_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    search_param: Mapped[str] = mapped_column(String(32), default="identifier")
    """The search parameter of the conditional create: ``identifier`` (system|value), or
    ``target`` for a Provenance, which has no identifier (value = the target reference)."""
    sealed_payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    remote_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Only on rows delivered before the ids were sealed; see ``remote_id_sealed``."""
    remote_id_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    launch_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_by: Mapped[str] = mapped_column(String(255))
    patient_pseudonym: Mapped[str | None] = mapped_column(String(64), nullable=True)
