# SPDX-License-Identifier: Apache-2.0
"""Server-side launch state: pending authorize requests and live launches.

Neither table holds a token, a PKCE verifier, a patient id or a state in the clear: lookups use
SHA-256 of high-entropy random values and everything else is sealed (AES-256-GCM) with the row
key as associated data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime

__all__ = ["LaunchRecord", "PendingState"]


class PendingState(Base):
    """One authorize request in flight; deleted when its redirect arrives (single use)."""

    __tablename__ = "pending_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    binding_hash: Mapped[str] = mapped_column(String(64), index=True, server_default="")
    """SHA-256 of the browser binding: the redirect must come from the same browser."""
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class LaunchRecord(Base):
    """A live launch, addressed by an opaque handle and bound to one browser session."""

    __tablename__ = "launches"

    handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
