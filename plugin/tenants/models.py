# SPDX-License-Identifier: Apache-2.0
"""The ``tenants`` table."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import true
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime

__all__ = ["Tenant"]


def _now() -> datetime:
    return datetime.now(UTC)


class Tenant(Base):
    """An EHR registration.  ``iss`` is stored normalised and is the allow-list key.

    The ``backend_*`` columns describe a separately registered SMART Backend Services client
    (its secret sealed like the launch client's); ``backend_on_launch_client`` allows Backend
    Services with the launch client's own credentials when there is none.
    ``smart_configuration`` holds the endpoints and the PKCE and client authentication methods
    SMART discovery named, fetched and validated once (standalone sign-in uses them, so public
    pages never fetch discovery).  ``revision`` grows
    on every write: replicas compare ``count``, ``sum(revision)`` and ``max(updated_at)`` to see
    that their cached list is stale.
    """

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    iss: Mapped[str] = mapped_column(String(500), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    auth_method: Mapped[str] = mapped_column(String(40))
    signing_alg: Mapped[str] = mapped_column(String(10), default="RS384")
    client_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    scope: Mapped[str] = mapped_column(String(2000))
    frame_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    role_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retention: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confidentiality: Mapped[str] = mapped_column(String(1), default="R")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    backend_client_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    backend_auth_method: Mapped[str | None] = mapped_column(String(40), nullable=True)
    backend_signing_alg: Mapped[str | None] = mapped_column(String(10), nullable=True)
    backend_client_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    backend_scope: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    backend_on_launch_client: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    smart_configuration: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """What SMART discovery said when the tenant was registered or last refreshed."""
    configuration_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=_now)
