# SPDX-License-Identifier: Apache-2.0
"""The app factory: wiring only."""

from __future__ import annotations

import logging
import threading
from datetime import UTC
from datetime import datetime

from flask import Flask

from smart_launch.discovery import ConfigurationCache
from smart_launch.flask import init_server_timing
from smart_launch.http import make_session
from smart_launch.identity import JwksCache
from smart_launch.keys import ClientKeys
from smart_launch.launch import SmartLaunchClient

from . import handlers
from . import security
from .admin import views as admin_views
from .admin.services import AuditAdmin
from .audit.anchoring import Checkpointer
from .audit.checkpoints import FileCheckpointSink
from .audit.interfaces import AuditSink
from .audit.services import SqlAuditLog
from .cds import views as cds_views
from .cds.cards import CardIds
from .cds.jwt import EhrJwtVerifier
from .cds.jwt import JkuKeys
from .cds.prefetch import PatientReader
from .cds.replay import SeenJwts
from .cds.services import CachedPolicies
from .cds.services import CdsService
from .cds.services import CdsUrls
from .codeword import views as codeword_views
from .codeword.alerts import Alerter
from .codeword.appointments import AppointmentChanger
from .codeword.hashing import WordHasher
from .codeword.intents import ChangeIntents
from .codeword.policies import PolicyStore
from .codeword.protected import SqlProtectedClients
from .codeword.reconcile import Reconciler
from .codeword.services import CodewordService
from .config import Settings
from .crypto import Sealer
from .crypto.envelope import EnvelopeCipher
from .crypto.factory import build_key_provider
from .crypto.factory import startup_check
from .crypto.interfaces import KeyProvider
from .crypto.interfaces import KeyProviderUnavailable
from .crypto.keyring import Keyring
from .crypto.pseudonyms import Pseudonymizer
from .errors import ConfigurationError
from .health import views as health_views
from .home import views as home_views
from .launch import views as launch_views
from .launch.services import LaunchService
from .launch.sessions import set_cookie_if_new
from .launch.store import SqlLaunchStateStore
from .launch.store import SqlLaunchStore
from .logs import configure_logging
from .notes import views as notes_views
from .notes.services import NotesService
from .outbox.delivery import LaunchUserClients
from .outbox.services import Outbox
from .outbox.worker import OutboxWorker
from .outbox.worker import backend_client_factory
from .registry import get_service
from .registry import register_service
from .screening import views as screening_views
from .screening.services import ReviewService
from .store import Database
from .tenants.interfaces import TenantRepository
from .tenants.services import SqlTenantRepository
from .vault.notices import NoticeBoard
from .vault.services import RetentionPolicy
from .vault.services import VaultService

__all__ = ["create_app"]


def _client_keys(settings: Settings) -> ClientKeys:
    if settings.environment == "production":
        if not settings.client_keys_path.exists():
            raise ConfigurationError("The client key file is missing.")
        return ClientKeys.load(settings.client_keys_path)
    return ClientKeys.load_or_create(settings.client_keys_path)


def _key_provider(settings: Settings) -> KeyProvider:
    """The configured provider, proven to work; the app does not start without one."""
    try:
        provider = build_key_provider(
            settings.key_backend,
            path=settings.key_file or settings.instance_path / "keys.json",
            library=settings.pkcs11_library,
            token_label=settings.pkcs11_token,
            pin=settings.pkcs11_pin,
        )
        startup_check(provider)
    except KeyProviderUnavailable as exc:
        raise ConfigurationError(f"Key provider: {exc.description}") from exc
    return provider


def start_worker(app: Flask) -> threading.Event:
    """Start the background threads of the embedded default; set the event to stop them.

    The outbox worker delivers EHR writes; the retention thread crypto-shreds expired records
    hourly; the reconciliation thread looks for appointment changes made without verification;
    the checkpoint thread signs each audit chain's head into the anchor folder.  In production
    these run as their own processes (``quietline outbox work`` and scheduled
    ``quietline vault expire``, ``quietline codeword reconcile`` and
    ``quietline audit checkpoint``).
    """
    stop = threading.Event()
    settings = get_service(Settings, app)
    if settings.outbox_worker:
        get_service(OutboxWorker, app).start_thread(stop, settings.outbox_interval)
        vault = get_service(VaultService, app)
        threading.Thread(target=_retention_loop, args=(vault, stop), daemon=True).start()
        get_service(Reconciler, app).start_thread(stop, settings.reconcile_interval)
        threading.Thread(
            target=_checkpoint_loop,
            args=(audit_checkpointer(app), stop, settings.audit_checkpoint_interval),
            name="quietline-audit-checkpoint",
            daemon=True,
        ).start()
    return stop


def audit_checkpointer(app: Flask) -> Checkpointer:
    """The audit :class:`Checkpointer` over the configured anchor folder."""
    provider = get_service(KeyProvider, app)
    return Checkpointer(
        get_service(Database, app),
        provider,
        FileCheckpointSink(get_service(Settings, app).audit_anchors),
    )


def _checkpoint_loop(anchor: Checkpointer, stop: threading.Event, interval: float) -> None:
    log = logging.getLogger(__name__)
    while not stop.is_set():
        try:
            for outcome in anchor.checkpoint_all():
                if outcome.status in {"refused", "failed"}:
                    # Tenant ids are registration names, not client details.
                    log.warning(
                        "audit checkpoint %s for tenant %s: run quietline audit verify",
                        outcome.status,
                        outcome.tenant,
                    )
        except Exception:  # a failed pass is retried next interval; the error is logged
            log.exception("audit checkpoint pass failed")
        stop.wait(interval)


def _retention_loop(vault: VaultService, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            vault.expire()
        except Exception:  # a failed pass is retried next hour; the error is logged
            logging.getLogger(__name__).exception("retention pass failed")
        stop.wait(3600)


def _wire_codeword(  # noqa: PLR0917  (the shared services it builds on)
    app: Flask,
    settings: Settings,
    provider: KeyProvider,
    outbox: Outbox,
    notices: NoticeBoard,
    pseudonyms: Pseudonymizer,
) -> None:
    """Code-word verification, bypass detection and the CDS Hooks service."""
    db = get_service(Database, app)
    audit = get_service(AuditSink, app)
    tenants = get_service(TenantRepository, app)
    policies = PolicyStore(db, audit)
    alerter = Alerter(notices, outbox, pseudonyms)
    hasher = WordHasher(provider)
    codewords = CodewordService(db, hasher, pseudonyms, audit, alerter, policies)
    intents = ChangeIntents(db, codewords, outbox, audit, lambda: datetime.now(UTC))
    reconciler = Reconciler(
        db,
        codewords,
        intents=intents,
        alerter=alerter,
        audit=audit,
        clients=backend_client_factory(
            tenants, get_service(ClientKeys, app), settings.reconcile_scope
        ),
    )
    protected = SqlProtectedClients(db, pseudonyms)
    cds_http = make_session(pool_maxsize=32)
    verifier = EhrJwtVerifier(tenants.all, JkuKeys(cds_http))
    cds_service = CdsService(
        db=db,
        urls=CdsUrls(settings.public_url),
        launch_url=settings.launch_url,
        tenants=tenants,
        verifier=verifier,
        seen=SeenJwts(leeway=verifier.leeway),
        reader=PatientReader(cds_http),
        protected=protected,
        policies=CachedPolicies(policies.get),
        pseudonyms=pseudonyms,
        audit=audit,
        card_ids=CardIds(settings.secret_key),
    )
    register_service(app, PolicyStore, policies)
    register_service(app, Alerter, alerter)
    register_service(app, WordHasher, hasher)
    register_service(app, CodewordService, codewords)
    register_service(app, AppointmentChanger, AppointmentChanger(db, codewords, intents))
    register_service(app, Reconciler, reconciler)
    register_service(app, SqlProtectedClients, protected)
    register_service(app, CdsService, cds_service)


def create_app(settings: Settings | None = None, *, migrate: bool | None = None) -> Flask:
    """Build the app from ``settings`` (default: :meth:`Settings.from_env`).

    :param migrate: run migrations at startup; defaults to on except in production, where a
        separate job runs ``quietline db upgrade``.
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        PLUGIN_SETTINGS=settings,
        PLUGIN_SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        TESTING=settings.environment == "testing",
    )

    db = Database(settings.database_url)
    if migrate if migrate is not None else settings.environment != "production":
        db.upgrade()
    http = make_session()
    keys = _client_keys(settings)
    provider = _key_provider(settings)
    audit: AuditSink = SqlAuditLog(db, provider)
    keyring = Keyring(db, provider, audit)
    launch_sealer = Sealer(settings.token_key, "launch")
    tenants: TenantRepository = SqlTenantRepository(
        db, Sealer(settings.token_key, "tenant-secret"), keys
    )
    configurations = ConfigurationCache(http)
    client = SmartLaunchClient(
        configurations=configurations,
        jwks=JwksCache(http),
        states=SqlLaunchStateStore(db, launch_sealer),
        state_ttl=settings.launch_state_seconds,
    )
    launches = SqlLaunchStore(
        db,
        launch_sealer,
        idle_seconds=settings.session_idle_seconds,
        absolute_seconds=settings.session_absolute_seconds,
    )
    pseudonyms = Pseudonymizer(provider)
    service = LaunchService(
        audit=audit,
        pseudonyms=pseudonyms,
        redirect_uri=settings.redirect_uri,
        tenants=tenants,
        client=client,
        launches=launches,
        configurations=configurations,
        http=http,
    )
    vault = VaultService(
        db,
        EnvelopeCipher(provider),
        keyring,
        pseudonyms,
        audit,
        lambda tenant_id: RetentionPolicy.from_mapping(tenants.by_id(tenant_id).retention),
    )
    outbox_cipher = Sealer(settings.token_key, "outbox")
    outbox = Outbox(db, outbox_cipher, index_key=settings.token_key)
    worker = OutboxWorker(
        db,
        outbox_cipher,
        backend_client_factory(tenants, keys, settings.outbox_scope),
        audit=audit,
        user_clients=LaunchUserClients(launches, service),
    )
    notes = NotesService(db=db, vault=vault, outbox=outbox, audit=audit, tenants=tenants)
    reviews = ReviewService(
        db,
        vault,
        lambda tenant_id: bool(tenants.by_id(tenant_id).options.get("hark")),
        service.fhir,
    )
    audit_admin = AuditAdmin(db, audit, provider).anchored(
        FileCheckpointSink(settings.audit_anchors)
    )

    register_service(app, Settings, settings)
    register_service(app, Database, db)
    register_service(app, KeyProvider, provider)
    register_service(app, AuditSink, audit)
    register_service(app, Keyring, keyring)
    register_service(app, ClientKeys, keys)
    register_service(app, TenantRepository, tenants)
    register_service(app, ConfigurationCache, configurations)
    register_service(app, SqlLaunchStore, launches)
    register_service(app, LaunchService, service)
    register_service(app, VaultService, vault)
    register_service(app, Outbox, outbox)
    register_service(app, OutboxWorker, worker)
    register_service(app, NotesService, notes)
    register_service(app, ReviewService, reviews)
    register_service(app, AuditAdmin, audit_admin)
    _wire_codeword(app, settings, provider, outbox, vault.notices, pseudonyms)

    init_server_timing(app)
    security.init_app(app, tenants.frame_origins)
    handlers.init_app(app)
    app.after_request(
        lambda response: set_cookie_if_new(response, settings.session_absolute_seconds)
    )
    for views in (
        launch_views,
        home_views,
        health_views,
        notes_views,
        screening_views,
        codeword_views,
        cds_views,
        admin_views,
    ):
        app.register_blueprint(views.bp)
    return app
