# SPDX-License-Identifier: Apache-2.0
"""Tenant repository: the allow-list lookup and registration."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import select

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

__all__ = ["SqlTenantRepository", "TenantRegistration"]

AUTH_METHODS = ("client_secret_basic", "private_key_jwt")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?")


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


class SqlTenantRepository:
    """Tenants in SQL, cached in memory (tenants change rarely; writes clear the cache)."""

    def __init__(self, db: Database, sealer: Sealer, client_keys: ClientKeys) -> None:
        self._db = db
        self._sealer = sealer
        self._keys = client_keys
        self._lock = threading.Lock()
        self._by_iss: dict[str, TenantView] | None = None
        self._generation = 0

    def register(self, reg: TenantRegistration) -> None:
        """Create or replace a tenant.

        :raises ConfigurationError: for an unknown method or a missing client secret.
        """
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
        with self._db.session() as session:
            row = session.get(Tenant, reg.id) or Tenant(id=reg.id)
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

    def invalidate(self) -> None:
        with self._lock:
            self._by_iss = None
            self._generation += 1

    def _load(self) -> dict[str, TenantView]:
        with self._lock:
            if self._by_iss is not None:
                return self._by_iss
            generation = self._generation
        with self._db.session() as session:
            rows = session.scalars(select(Tenant)).all()
            views = {
                row.iss: TenantView(
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
                )
                for row in rows
            }
        with self._lock:
            # A registration committed while we read invalidated the cache: keep it empty.
            if generation == self._generation:
                self._by_iss = views
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
