# SPDX-License-Identifier: Apache-2.0
"""Launch service: begins and completes launches, opens live ones, refreshes their tokens."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from urllib.parse import urlsplit

import requests

from smart_launch.context import LaunchContext
from smart_launch.discovery import ConfigurationCache
from smart_launch.discovery import SmartConfiguration
from smart_launch.errors import SmartLaunchError
from smart_launch.errors import TokenRequestError
from smart_launch.fhir import FhirClient
from smart_launch.launch import AppRegistration
from smart_launch.launch import SmartLaunchClient
from smart_launch.scopes import ScopeSet
from smart_launch.tokens import refresh

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..authz import claim_values
from ..authz import roles_for
from ..crypto.pseudonyms import Pseudonymizer
from ..errors import SessionExpired
from ..tenants.interfaces import TenantRepository
from ..tenants.services import TenantView
from .errors import RolesNotMapped
from .limits import LaunchRateLimiter
from .roles import RoleEvidence
from .roles import role_codes
from .store import LiveLaunch
from .store import SqlLaunchStore
from .store import StoredTokens

__all__ = ["LaunchService", "LaunchTokenSource", "PatientBanner", "asks_for_verification"]

log = logging.getLogger(__name__)
REFRESH_MARGIN = 60.0
"""Refresh when the access token has less than this many seconds left."""
NOTICE_SECONDS = 600.0
"""Warn on launched pages when a launch without a refresh token has less than this left."""
_REFRESH_SCOPES = frozenset({"online_access", "offline_access"})


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
        tenants: TenantRepository,
        client: SmartLaunchClient,
        launches: SqlLaunchStore,
        configurations: ConfigurationCache,
        http: requests.Session,
        audit: AuditSink,
        pseudonyms: Pseudonymizer,
        limiter: LaunchRateLimiter | None = None,
    ) -> None:
        self.redirect_uri = redirect_uri
        self.tenants = tenants
        self.client = client
        self.launches = launches
        self.configurations = configurations
        self.http = http
        self.audit = audit
        self.pseudonyms = pseudonyms
        self.limiter = limiter or LaunchRateLimiter()

    def _registration(self, tenant: TenantView) -> AppRegistration:
        """The tenant's registration; ``offline_access`` replaces ``online_access`` when the
        tenant's option ``offline_access`` is true (EHRs that refresh only offline grants)."""
        registration = self.tenants.registration(tenant, self.redirect_uri)
        if tenant.options.get("offline_access") is not True:
            return registration
        scopes = [s for s in registration.scope.scopes if s not in _REFRESH_SCOPES]
        return replace(registration, scope=ScopeSet((*scopes, "offline_access")))

    def begin_ehr(self, iss: str, launch: str, binding: str) -> tuple[str, TenantView]:
        """Allow-list check first (no outbound request for an unknown ``iss``), then discovery."""
        tenant = self.tenants.by_iss(iss)
        registration = self._registration(tenant)
        return self.client.begin(registration, launch=launch, binding=binding), tenant

    def begin_standalone(
        self, tenant_id: str, binding: str, *, return_to: str | None = None
    ) -> tuple[str, TenantView]:
        """A standalone sign-in, from the configuration kept for the tenant (no fetch).

        :raises IssuerNotAllowed: when ``tenant_id`` is not registered.
        """
        tenant = self.tenants.by_id(tenant_id)
        registration = self._registration(tenant)
        client = SmartLaunchClient(
            configurations=self.configurations.pinned(self.standalone_configuration(tenant)),
            jwks=self.client.jwks,
            states=self.client.states,
            state_ttl=self.client.state_ttl,
        )
        url = client.begin(registration, launch=None, binding=binding, return_to=return_to)
        return url, tenant

    def standalone_configuration(self, tenant: TenantView) -> SmartConfiguration:
        """The SMART configuration kept for ``tenant``.

        A tenant registered without one (before configurations were kept) is discovered once,
        on its own standalone page, and the result kept.

        :raises DiscoveryError: when the configuration does not allow a sign-in.
        """
        if tenant.smart_configuration:
            return SmartConfiguration.from_stored(tenant.smart_configuration, fhir_base=tenant.iss)
        config = self.configurations.get(tenant.iss)
        self.tenants.store_configuration(tenant.id, config.stored())
        return config

    def authorization_origin(self, tenant: TenantView) -> str:
        """The origin of ``tenant``'s authorization endpoint (the standalone form's CSP)."""
        parts = urlsplit(self.standalone_configuration(tenant).authorization_endpoint)
        return f"{parts.scheme}://{parts.netloc}"

    def relaunch(self, live: LiveLaunch, binding: str, path: str) -> str:
        """Start a new sign-in for the launch's EHR that comes back to ``path`` afterwards.

        Only a path inside this launch (``/l/<handle>/...``) is kept; anything else returns to
        the launch's home page.
        """
        prefix = f"/l/{live.handle}/"
        return_to = path if path.startswith(prefix) and "//" not in path else prefix
        return self.begin_standalone(live.context.tenant, binding, return_to=return_to)[0]

    @staticmethod
    def session_minutes_left(live: LiveLaunch) -> int | None:
        """Minutes until the launch's access ends, when it cannot be refreshed and ends soon."""
        if live.tokens.refresh_token is not None:
            return None
        left = live.tokens.expires_at - time.time()
        if left > NOTICE_SECONDS:
            return None
        return max(0, int(left // 60))

    def complete(self, params: Mapping[str, str], binding: str) -> str:
        """Finish the redirect and store the launch; returns its handle."""
        return self.complete_launch(params, binding)[0]

    def complete_launch(
        self, params: Mapping[str, str], binding: str
    ) -> tuple[str, LaunchContext, str | None]:
        """Finish the redirect and store the launch.

        :returns: the handle, the context and, for a relaunch, the path to return to (with the
            new handle in place of the old one).
        """
        result = self.client.complete(
            params,
            binding=binding,
            resolve=lambda tenant_id: self.tenants.registration(
                self.tenants.by_id(tenant_id), self.redirect_uri
            ),
        )
        tenant = self.tenants.by_id(result.context.tenant)
        evidence = role_codes(result, self.http)
        claims = result.identity.claims if result.identity else {}
        roles = roles_for(
            result.context.fhir_user_reference, evidence.codes, tenant.role_mapping, claims
        )
        if not roles:
            log.info("launch denied: no role mapped for a %s user", evidence.fhir_user_type)
            raise RolesNotMapped(_unmapped(evidence, claim_values(tenant.role_mapping, claims)))
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
        return handle, result.context, _return_path(result.return_to, handle)

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


def _return_path(return_to: str | None, handle: str) -> str | None:
    """``/l/<old>/rest`` becomes ``/l/<new>/rest``; anything else is dropped."""
    if not return_to:
        return None
    parts = return_to.split("/", 3)
    if len(parts) < 4 or parts[0] or parts[1] != "l":
        return None
    return f"/l/{handle}/{parts[3]}"


_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._:/|#-]{1,80}$")


def _unmapped(evidence: RoleEvidence, claim_seen: tuple[str, ...]) -> str:
    """What the administrator must map; role codes and claim values only, no ids or tokens."""
    kind = evidence.fhir_user_type or "unknown"
    codes = ", ".join(code for code in evidence.codes[:10] if _SAFE_VALUE.match(code)) or "none"
    values = ", ".join(value for value in claim_seen[:10] if _SAFE_VALUE.match(value)) or "none"
    return (
        "Quietline has no role for your EHR account, so it did not open. "
        f"Your EHR identifies you as a {kind}. Role codes seen: {codes}. "
        f"Role claim values seen: {values}. "
        "Ask your Quietline administrator to map one of these to a Quietline role in the EHR "
        "registration's role mapping."
    )


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
