# SPDX-License-Identifier: Apache-2.0
"""Launch service: begins and completes launches, opens live ones, refreshes their tokens."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from smart_launch.context import LaunchContext
from smart_launch.discovery import ConfigurationCache
from smart_launch.errors import SmartLaunchError
from smart_launch.errors import TokenRequestError
from smart_launch.fhir import FhirClient
from smart_launch.launch import LaunchResult
from smart_launch.launch import SmartLaunchClient
from smart_launch.scopes import ScopeSet
from smart_launch.tokens import refresh

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..authz import roles_for
from ..crypto.pseudonyms import Pseudonymizer
from ..errors import SessionExpired
from ..tenants.services import SqlTenantRepository
from ..tenants.services import TenantView
from .store import LiveLaunch
from .store import SqlLaunchStore
from .store import StoredTokens

__all__ = ["LaunchService", "LaunchTokenSource", "PatientBanner", "asks_for_verification"]

log = logging.getLogger(__name__)
REFRESH_MARGIN = 60.0
"""Refresh when the access token has less than this many seconds left."""


@dataclass(frozen=True)
class PatientBanner:
    """What the patient banner shows; rendered, never stored or logged."""

    name: str
    birth_date: str | None
    gender: str | None


def asks_for_verification(app_context: str | None) -> bool:
    """Whether an ``appContext`` is ``{"verify": {...}}`` (a launch from a verification link).

    The content is never logged or echoed; a malformed value simply means "no".
    """
    if not app_context:
        return False
    try:
        data = json.loads(app_context)
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("verify"), dict)


def _expiring(tokens: StoredTokens) -> bool:
    return tokens.expires_at - time.time() <= REFRESH_MARGIN


class LaunchTokenSource:
    """:class:`smart_launch.fhir.TokenSource` for one live launch; refreshes before expiry."""

    def __init__(self, service: LaunchService, live: LiveLaunch) -> None:
        self._service = service
        self._live = live
        self._tokens = live.tokens

    def access_token(self) -> str:
        if not _expiring(self._tokens):
            return self._tokens.access_token
        if self._tokens.refresh_token is None:
            if self._tokens.expires_at <= time.time():
                raise SessionExpired
            return self._tokens.access_token
        self._tokens = self._service.refresh_launch(self._live)
        return self._tokens.access_token


class LaunchService:
    """Everything the launch views need, behind one object."""

    def __init__(
        self,
        *,
        redirect_uri: str,
        tenants: SqlTenantRepository,
        client: SmartLaunchClient,
        launches: SqlLaunchStore,
        configurations: ConfigurationCache,
        http: requests.Session,
        audit: AuditSink,
        pseudonyms: Pseudonymizer,
    ) -> None:
        self.redirect_uri = redirect_uri
        self.tenants = tenants
        self.client = client
        self.launches = launches
        self.configurations = configurations
        self.http = http
        self.audit = audit
        self.pseudonyms = pseudonyms

    def begin_ehr(self, iss: str, launch: str, binding: str) -> tuple[str, TenantView]:
        """Allow-list check first (no outbound request for an unknown ``iss``), then discovery."""
        tenant = self.tenants.by_iss(iss)
        registration = self.tenants.registration(tenant, self.redirect_uri)
        return self.client.begin(registration, launch=launch, binding=binding), tenant

    def begin_standalone(self, tenant_id: str, binding: str) -> tuple[str, TenantView]:
        tenant = self.tenants.by_id(tenant_id)
        registration = self.tenants.registration(tenant, self.redirect_uri)
        return self.client.begin(registration, launch=None, binding=binding), tenant

    def authorization_origins(self) -> tuple[str, ...]:
        """Origins of every tenant's authorization endpoint (for the standalone form's CSP)."""
        origins: dict[str, None] = {}
        for tenant in self.tenants.all():
            urls = [tenant.iss]
            try:
                urls.append(self.configurations.get(tenant.iss).authorization_endpoint)
            except SmartLaunchError as exc:
                log.info("standalone form: %s unavailable (%s)", tenant.id, exc.error)
            for url in urls:
                parts = urlsplit(url)
                origins.setdefault(f"{parts.scheme}://{parts.netloc}", None)
        return tuple(origins)

    def complete(self, params: Mapping[str, str], binding: str) -> str:
        """Finish the redirect and store the launch; returns its handle."""
        return self.complete_launch(params, binding)[0]

    def complete_launch(self, params: Mapping[str, str], binding: str) -> tuple[str, LaunchContext]:
        """Finish the redirect and store the launch; returns its handle and context."""
        result = self.client.complete(
            params,
            binding=binding,
            resolve=lambda tenant_id: self.tenants.registration(
                self.tenants.by_id(tenant_id), self.redirect_uri
            ),
        )
        tenant = self.tenants.by_id(result.context.tenant)
        roles = roles_for(
            result.context.fhir_user_reference,
            self._role_codes(result),
            tenant.role_mapping,
        )
        tokens = StoredTokens(
            access_token=result.tokens.access_token,
            expires_at=result.tokens.expires_at,
            refresh_token=result.tokens.refresh_token,
        )
        handle = self.launches.create(
            session_hash=binding,
            context=result.context,
            roles=roles,
            tokens=tokens,
            missing_scopes=result.missing_scopes,
        )
        patient = result.context.patient
        self.audit.record(
            AuditEvent(
                tenant.id,
                result.context.fhir_user_reference or "unknown",
                AuditAction.LAUNCH_START,
                subject=self.pseudonyms.pseudonym(tenant.id, f"Patient/{patient}")
                if patient
                else None,
                detail={"type": result.context.launch_type, "roles": ",".join(roles) or "none"},
            )
        )
        return handle, result.context

    def _role_codes(self, result: LaunchResult) -> list[str]:
        context = result.context
        practitioner = context.fhir_user_reference
        if context.fhir_user_type != "Practitioner" or practitioner is None:
            return []
        if not result.tokens.scope.covers("user/PractitionerRole.rs"):
            return []
        access = result.tokens.access_token
        client = FhirClient(context.iss, _StaticToken(access), session=self.http)
        try:
            roles = client.search("PractitionerRole", {"practitioner": practitioner})
        except SmartLaunchError as exc:
            log.warning("practitioner roles unavailable: %s", exc.error)
            return []
        codes: list[str] = []
        for role in roles:
            if role.get_resource_type() != "PractitionerRole":
                continue  # an _include the server added on its own
            for concept in getattr(role, "code", None) or []:
                codes.extend(
                    f"{coding.system or ''}|{coding.code}"
                    for coding in concept.coding or []
                    if coding.code
                )
        return codes

    def open(self, handle: str, binding: str | None) -> LiveLaunch:
        return self.launches.open(handle, binding)

    def end(self, handle: str) -> None:
        self.launches.end(handle)

    def fhir(self, live: LiveLaunch) -> FhirClient:
        return FhirClient(live.context.iss, LaunchTokenSource(self, live), session=self.http)

    def refresh_launch(self, live: LiveLaunch) -> StoredTokens:
        """Use the refresh token once; on refusal the launch ends (relaunch needed)."""
        tenant = self.tenants.by_id(live.context.tenant)
        registration = self.tenants.registration(tenant, self.redirect_uri)
        config = self.configurations.get(live.context.iss)

        def _refresh(current: StoredTokens) -> StoredTokens:
            if current.refresh_token is None:
                raise SessionExpired
            answer = refresh(
                token_endpoint=config.token_endpoint,
                auth=registration.auth,
                refresh_token=current.refresh_token,
                current_scope=ScopeSet(live.context.scopes),
            )
            return StoredTokens(answer.access_token, answer.expires_at, answer.refresh_token)

        try:
            return self.launches.refresh_tokens(live.handle, needed=_expiring, refresh=_refresh)
        except TokenRequestError as exc:
            log.info("token refresh refused (%s); launch ended", exc.error)
            self.launches.end(live.handle)
            raise SessionExpired from exc

    def patient_banner(self, live: LiveLaunch) -> PatientBanner | None:
        """Read the patient for the banner; ``None`` when the EHR cannot be read."""
        if live.context.patient is None:
            return None
        try:
            patient = self.fhir(live).read("Patient", live.context.patient).resource
        except SmartLaunchError as exc:
            log.warning("patient banner unavailable: %s", exc.error)
            return None
        return PatientBanner(
            name=_display_name(patient),
            birth_date=str(born) if (born := getattr(patient, "birthDate", None)) else None,
            gender=getattr(patient, "gender", None),
        )


class _StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token


def _display_name(patient: object) -> str:
    for name in getattr(patient, "name", None) or []:
        if getattr(name, "text", None):
            return str(name.text)
        given = " ".join(name.given or [])
        family = name.family or ""
        text = f"{given} {family}".strip()
        if text:
            return text
    return "Name not recorded"
