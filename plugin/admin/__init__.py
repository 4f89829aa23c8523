# SPDX-License-Identifier: Apache-2.0
"""Administration pages: the audit log (list, filter, verify)."""

from __future__ import annotations

from flask import Flask

from ..audit.checkpoints import FileCheckpointSink
from ..config import Settings
from ..registry import get_service
from ..registry import register_service
from .services import AuditAdmin
from .views import bp

__all__ = ["AuditAdmin", "bp", "init_app"]


def init_app(app: Flask, admin: AuditAdmin) -> None:
    """Register the :class:`AuditAdmin` service and the blueprint.

    Without checkpoint storage of its own, ``admin`` checks the chain against the configured
    anchor folder (``Settings.audit_anchors``).
    """
    if admin.anchors is None:
        admin = admin.anchored(FileCheckpointSink(get_service(Settings, app).audit_anchors))
    register_service(app, AuditAdmin, admin)
    app.register_blueprint(bp)
