# SPDX-License-Identifier: Apache-2.0
"""EHR launch and standalone launch: authorize request, PKCE, state, and the code exchange.

SMART App Launch 2.2, "App Launch: Launch and Authorization":
https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html

    "state: REQUIRED. An opaque value used by the client to maintain state between the request
    and callback ... SHALL contain at least 122 bits of entropy."
    "aud: REQUIRED. URL of the EHR resource server from which the app wishes to retrieve FHIR
    data."  "code_challenge_method: REQUIRED ... SHALL be S256."

RFC 9207: an ``iss`` on the redirect names the authorization server, never the FHIR base.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Protocol
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from authlib.integrations.requests_client import OAuth2Session

from .context import LaunchContext
from .discovery import ConfigurationCache
from .errors import AuthorizationDenied
from .errors import IdTokenError
from .errors import IssuerNotAllowed
from .errors import StateError
from .identity import IdentityClaims
from .identity import JwksCache
from .identity import validate_id_token
from .scopes import ScopeSet
from .tokens import ClientAuth
from .tokens import TokenResponse
from .tokens import exchange_code

__all__ = [
    "AppRegistration",
    "LaunchResult",
    "LaunchStateStore",
    "PendingAuthorization",
    "SmartLaunchClient",
    "code_challenge",
    "normalize_iss",
]

STATE_BYTES = 32
"""256 bits, above SMART's 122-bit floor."""
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


def normalize_iss(iss: str) -> str:
    """Canonical form used for the allow-list comparison (scheme and host lower-cased).

    :raises IssuerNotAllowed: for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(iss.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc or parts.query:
        raise IssuerNotAllowed
    if parts.fragment or parts.username or parts.password:
        raise IssuerNotAllowed
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AppRegistration:
    """The app's registration with one EHR (a tenant)."""

    tenant: str
    iss: str
    client_id: str
    redirect_uri: str
    scope: ScopeSet
    auth: ClientAuth = field(repr=False)


@dataclass(frozen=True)
class PendingAuthorization:
    """Server-side record of one authorize request, consumed once on the redirect."""

    tenant: str
    iss: str
    code_verifier: str = field(repr=False)
    requested_scope: str
    launch_type: str
    binding: str = field(repr=False)
    expires_at: float
    return_to: str | None = None
    """An app-relative path to open after the sign-in (a relaunch), never an absolute URL."""


class LaunchStateStore(Protocol):
    """Keeps :class:`PendingAuthorization` records keyed by ``state``."""

    def save(self, state: str, pending: PendingAuthorization) -> None:
        """Store ``pending`` under ``state``."""

    def consume(self, state: str, binding: str) -> PendingAuthorization | None:
        """Atomically remove and return the record if ``binding`` started it.

        ``None`` when unknown, already used or started by another browser; in the last case the
        record stays usable by its own browser (compare-and-delete).
        """

    def is_pending(self, state: str) -> bool:
        """Whether a record for ``state`` exists and has not expired; changes nothing."""


@dataclass(frozen=True)
class LaunchResult:
    """A completed launch: the secret-free context plus the tokens to keep server-side."""

    context: LaunchContext
    tokens: TokenResponse = field(repr=False)
    identity: IdentityClaims | None
    missing_scopes: tuple[str, ...]
    return_to: str | None = None


class SmartLaunchClient:
    """Drives the authorization code flow for registered EHRs."""

    def __init__(
        self,
        *,
        configurations: ConfigurationCache,
        jwks: JwksCache,
        states: LaunchStateStore,
        state_ttl: float = 600.0,
    ) -> None:
        self.configurations = configurations
        self.jwks = jwks
        self.states = states
        self.state_ttl = state_ttl

    def begin(
        self,
        registration: AppRegistration,
        *,
        launch: str | None,
        binding: str,
        return_to: str | None = None,
    ) -> str:
        """Return the authorize URL for an EHR launch (``launch`` given) or a standalone one.

        The caller has already matched ``iss`` to ``registration`` (the allow-list).
        ``return_to`` (an app-relative path the caller has checked) comes back in the result.

        :raises DiscoveryError: when discovery fails or the EHR lacks S256 / offers ``plain``.
        """
        config = self.configurations.get(registration.iss)
        scope = _launch_scope(registration.scope, standalone=launch is None)
        state = secrets.token_urlsafe(STATE_BYTES)
        verifier = secrets.token_urlsafe(64)
        oauth = OAuth2Session(
            client_id=registration.client_id,
            redirect_uri=registration.redirect_uri,
            scope=str(scope),
            code_challenge_method="S256",
        )
        extra = {"aud": registration.iss}
        if launch is not None:
            extra["launch"] = launch
        url, _ = oauth.create_authorization_url(
            config.authorization_endpoint, state=state, code_verifier=verifier, **extra
        )
        query = parse_qs(urlsplit(url).query)
        if query.get("code_challenge") != [code_challenge(verifier)]:
            msg = "authorize URL lacks the PKCE S256 challenge"
            raise RuntimeError(msg)
        self.states.save(
            state,
            PendingAuthorization(
                tenant=registration.tenant,
                iss=registration.iss,
                code_verifier=verifier,
                requested_scope=str(scope),
                launch_type="standalone" if launch is None else "ehr",
                binding=binding,
                expires_at=time.time() + self.state_ttl,
                return_to=return_to,
            ),
        )
        return str(url)

    def complete(
        self,
        params: Mapping[str, str],
        *,
        binding: str,
        resolve: Callable[[str], AppRegistration],
    ) -> LaunchResult:
        """Validate the redirect, exchange the code and validate the id_token.

        :raises StateError: missing, unknown, reused, expired or foreign ``state``.
        :raises AuthorizationDenied: the EHR answered with ``error`` (no token request is made).
        :raises TokenRequestError: the token endpoint refused.
        :raises IdTokenError: the id_token failed validation.
        """
        pending = self._consume(params.get("state"), binding)
        config = self.configurations.get(pending.iss)
        returned_iss = params.get("iss")
        # RFC 9207 section 2.4: check iss on every answer, error answers included.
        if returned_iss is not None and config.issuer and returned_iss != config.issuer:
            raise AuthorizationDenied("The sign-in answer came from another server.")
        if "error" in params:
            code = params["error"] if _ERROR_CODE.fullmatch(params["error"]) else "unknown"
            raise AuthorizationDenied(f"The EHR did not authorise Quietline ({code}).")
        auth_code = params.get("code")
        if not auth_code:
            raise AuthorizationDenied("The EHR returned no authorization code.")
        registration = resolve(pending.tenant)
        requested = ScopeSet.parse(pending.requested_scope)
        tokens = exchange_code(
            token_endpoint=config.token_endpoint,
            auth=registration.auth,
            code=auth_code,
            code_verifier=pending.code_verifier,
            redirect_uri=registration.redirect_uri,
            requested=requested,
        )
        identity = self._identity(tokens, config.issuer, registration, requested)
        context = LaunchContext(
            tenant=pending.tenant,
            iss=pending.iss,
            patient=tokens.patient,
            encounter=tokens.encounter,
            fhir_user=identity.fhir_user if identity else None,
            scopes=tokens.scope.scopes,
            need_patient_banner=tokens.need_patient_banner,
            smart_style_url=tokens.smart_style_url,
            launch_type=pending.launch_type,
            app_context=tokens.app_context,
        )
        return LaunchResult(
            context=context,
            tokens=tokens,
            identity=identity,
            missing_scopes=tokens.scope.missing_from(requested),
            return_to=pending.return_to,
        )

    def _consume(self, state: str | None, binding: str) -> PendingAuthorization:
        if not state:
            raise StateError("The sign-in answer carried no state; it was refused.")
        pending = self.states.consume(state, binding)
        if pending is None:
            if self.states.is_pending(state):
                # Compare-and-delete left the state in place: its own browser can still finish.
                raise StateError(
                    "This sign-in was started in another browser or window; it was refused here. "
                    "Finish it where it started, or open Quietline again from the EHR."
                )
            raise StateError("This sign-in answer was already used or is unknown; it was refused.")
        if not hmac.compare_digest(pending.binding.encode(), binding.encode()):
            raise StateError("This sign-in was started in another browser; it was refused.")
        if pending.expires_at < time.time():
            raise StateError("This sign-in took too long and expired. Please launch again.")
        return pending

    def _identity(
        self,
        tokens: TokenResponse,
        issuer: str | None,
        registration: AppRegistration,
        requested: ScopeSet,
    ) -> IdentityClaims | None:
        if tokens.id_token is None:
            if "openid" in requested.scopes and "openid" in tokens.scope.scopes:
                raise IdTokenError("The EHR granted openid but sent no identity token.")
            return None
        if not issuer:
            raise IdTokenError("The EHR declares no identity issuer; sign-in refused.")
        return validate_id_token(
            tokens.id_token,
            issuer=issuer,
            client_id=registration.client_id,
            fhir_base=registration.iss,
            jwks=self.jwks,
        )


def _launch_scope(requested: ScopeSet, *, standalone: bool) -> ScopeSet:
    scopes = [s for s in requested.scopes if s not in {"launch", "launch/patient"}]
    scopes.insert(0, "launch/patient" if standalone else "launch")
    return ScopeSet(tuple(scopes))
