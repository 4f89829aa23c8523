# SPDX-License-Identifier: Apache-2.0
"""The SMART authorization server, built on authlib's Flask ``AuthorizationServer``.

SMART App Launch 2.2 (https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html):

- authorization code grant with PKCE, "servers SHALL support S256" and the sandbox accepts
  nothing else; ``state`` is required; ``aud`` must be the FHIR base; an EHR launch needs
  ``launch`` + the ``launch`` scope and takes user, patient and encounter from the launch;
- the token response carries ``patient``, ``encounter``, ``need_patient_banner`` and
  ``smart_style_url``, and ``appContext`` when the launch had one (CDS Hooks 2.0, "Link": the
  EHR passes a SMART link's ``appContext`` on this way); an ``id_token`` (RS256, or ES256 in
  that mode; ``fhirUser`` a Practitioner, or in those modes a relative PractitionerRole or
  Person) when ``openid`` is granted;
- refresh tokens only with ``offline_access``/``online_access`` (only ``offline_access`` in
  that mode), rotated on each use;
- Backend Services: ``client_credentials`` with ``private_key_jwt``, ``system/`` scopes,
  ``expires_in`` of at most 300 seconds and no refresh token.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import TYPE_CHECKING
from typing import Any
from typing import ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import InvalidScopeError
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey

from .client_auth import ClientModel
from .client_auth import SmartClientAssertion
from .grants import NewCode
from .grants import NewToken
from .models import OFFLINE_REFRESH_LIFETIME
from .models import ONLINE_REFRESH_LIFETIME
from .models import AuthorizationCodeRecord
from .models import Subject
from .models import TokenRecord
from .seed import ROLES
from .seed import USERS
from .seed import person_id

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["BACKEND_MAX_LIFETIME", "SmartAuthorizationServer", "create_authorization_server"]

BACKEND_MAX_LIFETIME = 300
"""Backend Services: "expires_in ... SHOULD NOT exceed 300" seconds."""
ID_TOKEN_LIFETIME = 300
_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]
_REFRESH_SCOPES = frozenset({"offline_access", "online_access"})
_OFFLINE_ONLY = frozenset({"offline_access"})


class SmartAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's Flask server wired to the sandbox's clients and grant store."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__()
        self.state = state
        self.register_token_generator("default", self.generate_bearer_token)

    def query_client(self, client_id: str | None) -> ClientModel | None:
        registration = self.state.config.client(client_id)
        return None if registration is None else ClientModel(registration)

    def generate_bearer_token(
        self,
        *,
        grant_type: str,
        client: ClientModel,
        user: Subject | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """The token response body, launch context included."""
        granted = client.get_allowed_scope(scope)
        if granted is None:
            raise InvalidScopeError(description="None of the requested scopes can be granted.")
        lifetime = expires_in or self.state.config.access_token_lifetime
        if grant_type == "client_credentials":
            lifetime = min(lifetime, BACKEND_MAX_LIFETIME)
        token: dict[str, Any] = {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": granted,
        }
        refresh_scopes = (
            _OFFLINE_ONLY if self.state.config.refresh_requires_offline else _REFRESH_SCOPES
        )
        refreshable = refresh_scopes.intersection(granted.split())
        if include_refresh_token and refreshable and client.check_grant_type("refresh_token"):
            token["refresh_token"] = secrets.token_urlsafe(48)
        if isinstance(user, Subject):
            if user.patient:
                token["patient"] = user.patient
            if user.encounter:
                token["encounter"] = user.encounter
            token["need_patient_banner"] = True
            token["smart_style_url"] = self.state.config.smart_style_url
            if user.app_context:
                token["appContext"] = user.app_context
        return token

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Store hashes of the issued tokens with their context and token family."""
        code: AuthorizationCodeRecord | None = request.authorization_code
        previous: TokenRecord | None = request.refresh_token
        if code is not None:
            family = code.family
        elif previous is not None:
            family = previous.family
        else:
            family = secrets.token_hex(16)
        scopes = str(token["scope"]).split()
        offline = "offline_access" in scopes
        self.state.grants.save_token(
            NewToken(
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                family=family,
                client_id=request.client.get_client_id(),
                subject=request.user if isinstance(request.user, Subject) else None,
                scope=token["scope"],
                expires_in=int(token["expires_in"]),
                refresh_lifetime=OFFLINE_REFRESH_LIFETIME if offline else ONLINE_REFRESH_LIFETIME,
            )
        )


class SmartCodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE required on every authorization request, S256 only (RFC 7636, SMART 2.2)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class SmartAuthorizationCodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """Authorization code grant with SMART's ``aud`` and ``launch`` rules."""

    TOKEN_ENDPOINT_AUTH_METHODS = _AUTH_METHODS

    def __init__(self, request: Any, server: SmartAuthorizationServer) -> None:
        super().__init__(request, server)
        self.launch_record: Any = None

    @property
    def state(self) -> SandboxState:
        server: SmartAuthorizationServer = self.server
        return server.state

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        try:
            self._validate_smart_parameters()
        except OAuth2Error as error:
            error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def _validate_smart_parameters(self) -> None:
        data = self.request.payload.data
        if not data.get("state"):
            raise InvalidRequestError("SMART requires a state parameter.")
        if data.get("aud") != self.state.config.fhir_base:
            raise InvalidRequestError("aud mismatch")
        requested = (self.request.payload.scope or "").split()
        launch_id = data.get("launch")
        if not launch_id:
            if "launch" in requested:
                raise InvalidRequestError("The launch scope needs a launch parameter.")
            return
        if "launch" not in requested:
            raise InvalidRequestError("An EHR launch needs the launch scope.")
        record = self.state.grants.live_launch(launch_id)
        if record is None or record.client_id != self.request.payload.client_id:
            raise InvalidRequestError("The launch is unknown, expired or for another app.")
        self.launch_record = record

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.state.grants.save_code(
            code,
            NewCode(
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                subject=request.user,
                nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data.get("code_challenge_method", "S256"),
            ),
        )

    def query_authorization_code(
        self, code: str, client: ClientModel
    ) -> AuthorizationCodeRecord | None:
        return self.state.grants.claim_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: AuthorizationCodeRecord) -> None:
        """The code is already consumed; forget codes well past any replay window."""
        self.state.grants.purge_codes(authorization_code.created_at - 3600)

    def authenticate_user(self, authorization_code: AuthorizationCodeRecord) -> Subject:
        return authorization_code.subject


class SmartRefreshTokenGrant(RefreshTokenGrant):  # type: ignore[misc]
    """Refresh with rotation; a reused refresh token revokes its family."""

    TOKEN_ENDPOINT_AUTH_METHODS = _AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    @property
    def state(self) -> SandboxState:
        server: SmartAuthorizationServer = self.server
        return server.state

    def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        lookup = self.state.grants.find_refresh(refresh_token)
        if lookup.reused:
            raise InvalidGrantError(
                description="The refresh token was already used; its token family is revoked."
            )
        return lookup.record

    def authenticate_user(self, refresh_token: TokenRecord) -> Subject | None:
        return refresh_token.subject

    def revoke_old_credential(self, refresh_token: TokenRecord) -> None:
        """Retire the presented refresh token; losing a race revokes the whole family."""
        if not self.state.grants.claim_refresh(refresh_token):
            raise InvalidGrantError(description="The refresh token was already used.")


class SmartClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    """SMART Backend Services: ``private_key_jwt`` and ``system/`` scopes only."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["private_key_jwt"]

    def validate_requested_scope(self) -> None:
        scopes = (self.request.payload.scope or "").split()
        if not scopes or any(not scope.startswith("system/") for scope in scopes):
            raise InvalidScopeError(description="Backend Services take system/ scopes only.")


class SmartOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """id_token for ``openid``: RS256 with the sandbox key, ``fhirUser`` absolute."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(require_nonce=False)
        self.state = state
        self._wrong_key: RSAKey | None = None
        self._lock = threading.Lock()

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return self.state.grants.nonce_used(str(request.payload.client_id), nonce)

    def resolve_client_private_key(self, _client: ClientModel) -> RSAKey | ECKey:
        alg = self.state.config.id_token_alg
        if self.state.config.faults.id_token_fault != "signature":
            return self.state.signing_key.for_alg(alg)[0]
        with self._lock:
            if self._wrong_key is None:
                self._wrong_key = RSAKey.generate_key(2048, private=True)
            if alg == "ES256":
                return ECKey.generate_key("P-256", private=True)
            return self._wrong_key

    def get_client_algorithm(self, _client: ClientModel) -> str:
        return self.state.config.id_token_alg

    def get_encode_header(self, _client: ClientModel) -> dict[str, str]:
        alg = self.state.config.id_token_alg
        return {"alg": alg, "kid": self.state.signing_key.for_alg(alg)[1], "typ": "JWT"}

    def get_client_claims(self, client: ClientModel) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.state.config.root,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
        }
        fault = self.state.config.faults.id_token_fault
        if fault == "iss":
            claims["iss"] = "https://issuer.invalid"
        elif fault == "aud":
            claims["aud"] = "another-client"
        elif fault == "exp":
            claims["iat"] = now - 2 * ID_TOKEN_LIFETIME
            claims["exp"] = now - ID_TOKEN_LIFETIME
        return claims

    def generate_user_info(self, user: Subject, _scope: str) -> dict[str, Any]:
        return {
            "sub": user.user_id,
            "fhirUser": self._fhir_user(user.user_id),
            "name": USERS.get(user.user_id, user.user_id),
        }

    def _fhir_user(self, user_id: str) -> str:
        """The configured kind of reference; PractitionerRole and Person are relative."""
        kind = self.state.config.fhir_user_type
        if kind == "PractitionerRole":
            return f"PractitionerRole/{ROLES[user_id][0]}"
        if kind == "Person":
            return f"Person/{person_id(user_id)}"
        return f"{self.state.config.fhir_base}/Practitioner/{user_id}"


def create_authorization_server(state: SandboxState) -> SmartAuthorizationServer:
    """Build the server with every SMART grant and ``private_key_jwt`` registered."""
    server = SmartAuthorizationServer(state)
    server.register_grant(
        SmartAuthorizationCodeGrant, [SmartCodeChallenge(required=True), SmartOpenIDCode(state)]
    )
    server.register_grant(SmartRefreshTokenGrant)
    server.register_grant(SmartClientCredentialsGrant)
    server.register_client_auth_method(
        SmartClientAssertion.CLIENT_AUTH_METHOD,
        SmartClientAssertion(
            token_endpoint=lambda: state.config.token_endpoint,
            grants=state.grants,
            jwks_cache=state.jwks_cache,
            registration=state.config.client,
        ),
    )
    return server
