# SPDX-License-Identifier: Apache-2.0
"""The ``vault_records`` and ``notices`` tables.

A vault row holds no plaintext PHI: the patient appears only as a keyed pseudonym and the
content only as AES-256-GCM ciphertext under a per-record data key, itself wrapped under the
retention period's key in the key provider.  A destroyed or expired row keeps its metadata as a
tombstone (for the audit trail) with the ciphertext and wrapped key removed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime

__all__ = ["Notice", "VaultRecord"]


class VaultRecord(Base):
    __tablename__ = "vault_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    record_type: Mapped[str] = mapped_column(String(40))
    patient_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(String(300))
    kek_label: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    destroyed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    destroyed_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)


class Notice(Base):
    """A message for one staff member inside Quietline (e.g. a break-glass read of their record)."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    """The patient pseudonym the notice is about (never the patient id)."""
    actor: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
