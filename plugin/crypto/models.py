# SPDX-License-Identifier: Apache-2.0
"""The ``kek_versions`` table: which key-encryption key versions exist for each retention period.

The keys themselves live only in the key provider; a row holds the label and its lifecycle.
``(tenant_id, period, version)`` is unique: that constraint is what makes creating a version
race-safe across processes (the loser of an insert race retries and finds the winner's row).
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime

__all__ = ["KEK_STATES", "KekVersion"]

KEK_STATES = ("active", "retired", "destroyed")


def _now() -> datetime:
    return datetime.now(UTC)


class KekVersion(Base):
    """One version of a tenant's retention-period key (``q/<tenant>/p/<YYYY-MM>/v<n>``).

    ``active``: new records are wrapped under it.  ``retired``: a newer version is active and
    rows are being re-wrapped away from it.  ``destroyed``: gone from the provider.
    """

    __tablename__ = "kek_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "period", "version"),
        CheckConstraint("state IN ('active', 'retired', 'destroyed')", name="state"),
        Index("ix_kek_versions_tenant_state", "tenant_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    destroyed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
