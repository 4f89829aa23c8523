# SPDX-License-Identifier: Apache-2.0
"""CDS Hooks 2.0 service: discovery, ``appointment-book`` and feedback.

CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/) and the ``appointment-book`` hook of the CDS
Hooks library.  For a client with an enrolled code word, under a protocol that verifies
bookings or changes, the EHR gets one critical card whose SMART link opens Quietline's
verification screen; for everyone else ``{"cards": []}``.
"""

from __future__ import annotations

from flask import Flask

from smart_launch.http import make_session

from ..audit.services import SqlAuditLog
from ..codeword.protected import SqlProtectedClients
from ..codeword.protocol import ProtocolStore
from ..config import Settings
from ..crypto.pseudonyms import Pseudonymizer
from ..registry import register_service
from ..store import Database
from ..tenants.services import SqlTenantRepository
from .cards import CardIds
from .jwt import EhrJwtVerifier
from .jwt import JkuKeys
from .prefetch import PatientReader
from .replay import SeenJwts
from .services import CachedProtocols
from .services import CdsService
from .services import CdsUrls
from .views import bp

__all__ = ["CdsService", "init_app"]


def init_app(
    app: Flask,
    *,
    settings: Settings,
    db: Database,
    tenants: SqlTenantRepository,
    pseudonyms: Pseudonymizer,
    audit: SqlAuditLog,
) -> None:
    """Build the service, register it (and :class:`SqlProtectedClients`) and the endpoints."""
    http = make_session(pool_maxsize=32)
    verifier = EhrJwtVerifier(tenants.all, JkuKeys(http))
    protected = SqlProtectedClients(db, pseudonyms)
    service = CdsService(
        db=db,
        urls=CdsUrls(settings.public_url),
        launch_url=settings.launch_url,
        tenants=tenants,
        verifier=verifier,
        seen=SeenJwts(leeway=verifier.leeway),
        reader=PatientReader(http),
        protected=protected,
        protocols=CachedProtocols(ProtocolStore(db, audit).get),
        pseudonyms=pseudonyms,
        audit=audit,
        card_ids=CardIds(settings.secret_key),
    )
    register_service(app, SqlProtectedClients, protected)
    register_service(app, CdsService, service)
    app.register_blueprint(bp)
