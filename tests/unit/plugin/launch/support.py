# SPDX-License-Identifier: Apache-2.0
"""A tenant registered with the SMART configuration kept at registration (no fetch needed)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from plugin.registry import get_service
from plugin.tenants.interfaces import TenantRepository
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import registration

AUTHORIZE = "https://login.ehr.example/oauth/authorize"
KEPT_CONFIGURATION: dict[str, Any] = {
    "issuer": "https://login.ehr.example",
    "authorization_endpoint": AUTHORIZE,
    "token_endpoint": "https://login.ehr.example/oauth/token",
    "code_challenge_methods_supported": ["S256"],
    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
    "capabilities": ["launch-standalone", "client-confidential-asymmetric"],
}
STANDALONE = "/standalone/ehr"
"""The standalone sign-in page of the tenant :func:`register_kept` registers."""


def register_kept(app: Flask, **overrides: Any) -> str:
    """Register tenant ``ehr`` (at ``EHR_ISS``) with :data:`KEPT_CONFIGURATION`; its id."""
    values: dict[str, Any] = {"smart_configuration": KEPT_CONFIGURATION, "iss": EHR_ISS}
    values.update(overrides)
    view = registration(**values)
    get_service(TenantRepository, app).register(view)
    return view.id
