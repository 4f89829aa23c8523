# SPDX-License-Identifier: Apache-2.0
"""Tenant repository: the allow-list lookup and registration.

Tenants are cached in each process.  A registration made by another process (a replica, or
``quietline tenant add``) is seen within :data:`TENANT_REFRESH_SECONDS`: at most that often the
cache reads a cheap change marker (row count, sum of row revisions, newest ``updated_at``) and
reloads the list only when the marker moved.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from time import monotonic
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from smart_launch.errors import IssuerNotAllowed
from smart_launch.keys import ClientKeys
from smart_launch.launch import AppRegistration
from smart_launch.launch import normalize_iss
from smart_launch.scopes import ScopeSet
from smart_launch.tokens import ClientAuth
from smart_launch.tokens import ClientSecretBasic
from smart_launch.tokens import PrivateKeyJwtAuth

from ..crypto import Sealer
from ..errors import ConfigurationError
from ..store import Database
from .models import Tenant

__all__ = [
    "TENANT_REFRESH_SECONDS",
    "BackendClient",
    "SqlTenantRepository",
    "TenantRegistration",
    "TenantView",
]

AUTH_METHODS = ("client_secret_basic", "private_key_jwt")
SIGNING_ALGS = ("RS384", "ES384")
TENANT_REFRESH_SECONDS = 5.0
"""The bound: a tenant registered or changed anywhere is seen by every process within this."""
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class BackendClient:
    """A SMART Backend Services client registered with the EHR apart from the launch client.

    :param auth_method: ``private_key_jwt`` (the app's keys, ``signing_alg``) or
        ``client_secret_basic`` (``client_secret``, sealed at rest).
    :param scope: the ``system/`` scopes the EHR granted this client.
    """

    client_id: str
    auth_method: str
    scope: str
    signing_alg: str = "RS384"
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TenantRegistration:
    """Input for registering an EHR."""

    id: str
    name: str
    iss: str
    client_id: str
    auth_method: str
    scope: str
    frame_origins: tuple[str, ...]
    role_mapping: dict[str, Any] = field(default_factory=dict)
    client_secret: str | None = field(default=None, repr=False)
    signing_alg: str = "RS384"
    retention: dict[str, Any] = field(default_factory=dict)
    confidentiality: str = "R"
    options: dict[str, Any] = field(default_factory=dict)
    """Feature switches, e.g. ``{"hark": true}`` offers the optional HARK questions."""
    backend: BackendClient | None = None
    """The separately registered backend client, if the EHR has one for Quietline."""
    backend_on_launch_client: bool = True
    """Without ``backend``: may Backend Services use the launch client's id and keys?"""
    smart_configuration: dict[str, Any] | None = None
    """What SMART discovery said (``SmartConfiguration.stored()``), validated by the caller.
    ``None`` keeps the stored one while ``iss`` is unchanged."""


@dataclass(frozen=True)
class TenantView:
    """A detached, immutable copy of a tenant row."""

    id: str
    name: str
    iss: str
    client_id: str
    auth_method: str
    signing_alg: str
    scope: str
    frame_origins: tuple[str, ...]
    role_mapping: dict[str, Any]
    client_secret_sealed: bytes | None = field(repr=False)
    retention: dict[str, Any] = field(default_factory=dict)
    confidentiality: str = "R"
    options: dict[str, Any] = field(default_factory=dict)
    backend: BackendClient | None = None
    """The backend client without its secret (see :meth:`SqlTenantRepository.backend_secret`)."""
    backend_secret_sealed: bytes | None = field(default=None, repr=False)
    backend_on_launch_client: bool = True
    smart_configuration: dict[str, Any] | None = None
    """The endpoints, PKCE and client authentication methods kept from SMART discovery."""
    configuration_checked_at: datetime | None = None


_Marker = tuple[int, int, str]


def _check_backend(backend: BackendClient) -> None:
    if not backend.client_id:
        raise ConfigurationError("A backend client needs a client id.")
    if backend.auth_method not in AUTH_METHODS:
        raise ConfigurationError(f"The backend auth method must be one of {AUTH_METHODS}.")
    if backend.auth_method == "client_secret_basic" and not backend.client_secret:
        raise ConfigurationError("A client_secret_basic backend client needs a client secret.")
    if backend.auth_method == "private_key_jwt" and backend.signing_alg not in SIGNING_ALGS:
        raise ConfigurationError(f"The backend signing algorithm must be one of {SIGNING_ALGS}.")
    scopes = backend.scope.split()
    if not scopes or any(not s.startswith("system/") or s == "system/" for s in scopes):
        raise ConfigurationError("A backend client takes system/ scopes only.")


def _backend_aad(tenant_id: str) -> bytes:
    return f"{tenant_id}:backend".encode()


def _view(row: Tenant) -> TenantView:
    backend = (
        BackendClient(
            client_id=row.backend_client_id,
            auth_method=row.backend_auth_method or "private_key_jwt",
            scope=row.backend_scope or "",
            signing_alg=row.backend_signing_alg or "RS384",
        )
        if row.backend_client_id
        else None
    )
    return TenantView(
        id=row.id,
        name=row.name,
        iss=row.iss,
        client_id=row.client_id,
        auth_method=row.auth_method,
        signing_alg=row.signing_alg,
        scope=row.scope,
        frame_origins=tuple(row.frame_origins or ()),
        role_mapping=dict(row.role_mapping or {}),
        client_secret_sealed=row.client_secret_sealed,
        retention=dict(row.retention or {}),
        confidentiality=row.confidentiality or "R",
        options=dict(row.options or {}),
        backend=backend,
        backend_secret_sealed=row.backend_client_secret_sealed,
        backend_on_launch_client=bool(row.backend_on_launch_client),
        smart_configuration=dict(row.smart_configuration) if row.smart_configuration else None,
        configuration_checked_at=row.configuration_checked_at,
    )


class SqlTenantRepository:
    """Tenants in SQL, cached in memory.

    A write in this process clears the cache at once; a write elsewhere is noticed by the change
    marker, read at most every ``refresh_seconds`` (:data:`TENANT_REFRESH_SECONDS`).

    :param clock: monotonic seconds (tests inject one instead of sleeping).
    """

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        client_keys: ClientKeys,
        *,
        refresh_seconds: float = TENANT_REFRESH_SECONDS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._db = db
        self._sealer = sealer
        self._keys = client_keys
        self._refresh = refresh_seconds
        self._clock = clock or monotonic
        self._lock = threading.Lock()
        self._by_iss: dict[str, TenantView] | None = None
        self._marker: _Marker | None = None
        self._checked_at = 0.0
        self._generation = 0

    def register(self, reg: TenantRegistration) -> None:
        """Create or replace a tenant.

        :raises ConfigurationError: for an unknown method, a missing client secret or an
            unusable backend client.
        """
        if reg.backend is not None:
            _check_backend(reg.backend)
        if reg.auth_method not in AUTH_METHODS:
            raise ConfigurationError(f"auth_method must be one of {AUTH_METHODS}.")
        if reg.confidentiality not in {"R", "V"}:
            raise ConfigurationError(
                "confidentiality must be R (restricted) or V (very restricted)."
            )
        if reg.auth_method == "client_secret_basic" and not reg.client_secret:
            raise ConfigurationError("client_secret_basic needs a client secret.")
        iss = normalize_iss(reg.iss)
        bad = [origin for origin in reg.frame_origins if not _ORIGIN.fullmatch(origin)]
        if bad or not reg.frame_origins:
            raise ConfigurationError("frame origins must be origins like https://ehr.example.org.")
        sealed = (
            self._sealer.seal(reg.client_secret.encode(), aad=reg.id.encode())
            if reg.client_secret
            else None
        )
        backend = reg.backend
        backend_sealed = (
            self._sealer.seal(backend.client_secret.encode(), aad=_backend_aad(reg.id))
            if backend is not None and backend.client_secret
            else None
        )
        with self._db.session() as session:
            row = session.get(Tenant, reg.id) or Tenant(id=reg.id, revision=0)
            row.revision = (row.revision or 0) + 1
            row.updated_at = datetime.now(UTC)
            if reg.smart_configuration is not None:
                row.smart_configuration = dict(reg.smart_configuration)
                row.configuration_checked_at = row.updated_at
            elif row.iss != iss:
                row.smart_configuration = None
                row.configuration_checked_at = None
            row.backend_client_id = backend.client_id if backend else None
            row.backend_auth_method = backend.auth_method if backend else None
            row.backend_signing_alg = backend.signing_alg if backend else None
            row.backend_scope = backend.scope if backend else None
            row.backend_client_secret_sealed = backend_sealed
            row.backend_on_launch_client = reg.backend_on_launch_client
            row.name = reg.name
            row.iss = iss
            row.client_id = reg.client_id
            row.auth_method = reg.auth_method
            row.signing_alg = reg.signing_alg
            row.client_secret_sealed = sealed
            row.scope = reg.scope
            row.frame_origins = list(reg.frame_origins)
            row.role_mapping = dict(reg.role_mapping)
            row.retention = dict(reg.retention)
            row.confidentiality = reg.confidentiality
            row.options = dict(reg.options)
            session.add(row)
        self.invalidate()

    def store_configuration(self, tenant_id: str, configuration: dict[str, Any]) -> None:
        """Keep what SMART discovery said for ``tenant_id`` (validated by the caller).

        :raises IssuerNotAllowed: when no such tenant is registered.
        """
        with self._db.session() as session:
            row = session.get(Tenant, tenant_id)
            if row is None:
                raise IssuerNotAllowed
            row.smart_configuration = dict(configuration)
            row.configuration_checked_at = row.updated_at = datetime.now(UTC)
            row.revision = (row.revision or 0) + 1
        self.invalidate()

    def invalidate(self) -> None:
        """Forget the cached list; the next lookup reads the table."""
        with self._lock:
            self._by_iss = None
            self._generation += 1

    @staticmethod
    def _read_marker(session: Session) -> _Marker:
        count, total, newest = session.execute(
            select(
                func.count(Tenant.id),
                func.coalesce(func.sum(Tenant.revision), 0),
                func.max(Tenant.updated_at),
            )
        ).one()
        return int(count), int(total), str(newest)

    def _fresh(self) -> dict[str, TenantView] | None:
        """The cached list while it is known to be current, else ``None``."""
        with self._lock:
            cached, marker = self._by_iss, self._marker
            if cached is None or self._clock() - self._checked_at < self._refresh:
                return cached
            generation = self._generation
        with self._db.session() as session:
            current = self._read_marker(session)
        with self._lock:
            if current != marker or generation != self._generation:
                return None
            self._checked_at = self._clock()
            return cached

    def _load(self) -> dict[str, TenantView]:
        cached = self._fresh()
        if cached is not None:
            return cached
        with self._lock:
            generation = self._generation
        checked_at = self._clock()
        with self._db.session() as session:
            marker = self._read_marker(session)
            views = {row.iss: _view(row) for row in session.scalars(select(Tenant)).all()}
        with self._lock:
            # A registration committed while we read invalidated the cache: keep it empty.
            if generation == self._generation:
                self._by_iss, self._marker, self._checked_at = views, marker, checked_at
        return views

    def all(self) -> list[TenantView]:
        return sorted(self._load().values(), key=lambda view: view.name)

    def by_iss(self, iss: str) -> TenantView:
        """The allow-list check; makes no outbound request.

        :raises IssuerNotAllowed: when ``iss`` is not registered.
        """
        view = self._load().get(normalize_iss(iss))
        if view is None:
            raise IssuerNotAllowed
        return view

    def by_id(self, tenant_id: str) -> TenantView:
        for view in self._load().values():
            if view.id == tenant_id:
                return view
        raise IssuerNotAllowed

    def frame_origins(self) -> frozenset[str]:
        return frozenset(origin for view in self._load().values() for origin in view.frame_origins)

    def backend_secret(self, view: TenantView) -> str | None:
        """The backend client's secret, opened; ``None`` when it has none."""
        if view.backend_secret_sealed is None:
            return None
        return self._sealer.open(view.backend_secret_sealed, aad=_backend_aad(view.id)).decode()

    def registration(self, view: TenantView, redirect_uri: str) -> AppRegistration:
        """The SMART client registration for ``view``."""
        auth: ClientAuth
        if view.auth_method == "client_secret_basic":
            if view.client_secret_sealed is None:
                raise ConfigurationError("Tenant has no client secret.")
            secret = self._sealer.open(view.client_secret_sealed, aad=view.id.encode())
            auth = ClientSecretBasic(view.client_id, secret.decode())
        else:
            auth = PrivateKeyJwtAuth(view.client_id, self._keys, view.signing_alg)
        return AppRegistration(
            tenant=view.id,
            iss=view.iss,
            client_id=view.client_id,
            redirect_uri=redirect_uri,
            scope=ScopeSet.parse(view.scope),
            auth=auth,
        )
