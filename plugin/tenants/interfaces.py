# SPDX-License-Identifier: Apache-2.0
"""The tenant seam: what launch, delivery, CDS and the pages need to know about a registration.

:class:`plugin.tenants.services.SqlTenantRepository` is the implementation; callers depend on
:class:`TenantRepository` and find it registered under that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

if TYPE_CHECKING:
    from smart_launch.launch import AppRegistration

    from .services import TenantRegistration
    from .services import TenantView

__all__ = ["TenantRepository"]


class TenantRepository(Protocol):
    """Registered EHRs: the ``iss`` allow-list and each tenant's settings."""

    def register(self, reg: TenantRegistration) -> None:
        """Create or replace a tenant."""

    def store_configuration(self, tenant_id: str, configuration: dict[str, Any]) -> None:
        """Keep what SMART discovery said for ``tenant_id``."""

    def all(self) -> list[TenantView]:
        """Every tenant."""

    def by_iss(self, iss: str) -> TenantView:
        """The tenant registered for ``iss``; raises ``IssuerNotAllowed`` for any other."""

    def by_id(self, tenant_id: str) -> TenantView:
        """The tenant with this id; raises ``IssuerNotAllowed`` when there is none."""

    def frame_origins(self) -> frozenset[str]:
        """Every tenant's EHR origins (for ``frame-ancestors`` where no launch is known)."""

    def backend_secret(self, view: TenantView) -> str | None:
        """The backend client's secret, opened; ``None`` when it has none."""

    def registration(self, view: TenantView, redirect_uri: str) -> AppRegistration:
        """The SMART client registration for ``view``."""
