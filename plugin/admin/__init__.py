# SPDX-License-Identifier: Apache-2.0
"""Administration pages: the audit log (list, filter, verify)."""

from __future__ import annotations

from flask import Flask

from ..registry import register_service
from .services import AuditAdmin
from .views import bp

__all__ = ["AuditAdmin", "bp", "init_app"]


def init_app(app: Flask, admin: AuditAdmin) -> None:
    """Register the :class:`AuditAdmin` service and the blueprint."""
    register_service(app, AuditAdmin, admin)
    app.register_blueprint(bp)
