# SPDX-License-Identifier: Apache-2.0
"""The ``audit_entries`` and ``audit_heads`` tables.

``audit_entries`` is append-only: the service inserts rows and never updates or deletes one.
``audit_heads`` holds, per tenant, the newest sequence number and MAC; it is the row that
serialises appends (``UPDATE ... RETURNING`` locks it) and the anchor that reveals a truncated
tail.  Tenants are not foreign keys on purpose: the audit trail outlives a tenant registration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime

__all__ = ["AuditEntry", "AuditHead"]

# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    """One link of a tenant's chain; ``mac`` is the hex HMAC-SHA256 described in services."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_entries_tenant_id_at", "tenant_id", "at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[dict[str, str | int | bool]] = mapped_column(JSON)
    mac: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest link of a tenant's chain (``seq`` 0 and a zero MAC before the first entry)."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    mac: Mapped[str] = mapped_column(String(64))
