# SPDX-License-Identifier: Apache-2.0
"""Seen CDS Hooks JWT ids, so a replayed request is refused on every replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime

__all__ = ["SeenJwt"]


class SeenJwt(Base):
    """``(iss, jti)`` of every accepted EHR JWT until it expires; the primary key refuses a
    second insert of the same pair, which is the replay check."""

    __tablename__ = "cds_seen_jwts"

    iss: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
