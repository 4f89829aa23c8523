# SPDX-License-Identifier: Apache-2.0
"""Tenants: one registration of Quietline with one EHR (the ``iss`` allow-list)."""

from .models import Tenant
from .services import SqlTenantRepository
from .services import TenantRegistration

__all__ = ["SqlTenantRepository", "Tenant", "TenantRegistration"]
