# SPDX-License-Identifier: Apache-2.0
"""Registered clients as authlib sees them, and ``private_key_jwt`` client authentication.

SMART App Launch 2.2, "Client Authentication: Asymmetric (public key)"
(https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html):

    "alg: The JWA algorithm (e.g., RS384, ES384) used for signing the authentication JWT."
    "kid: The identifier of the key-pair used to sign this JWT."
    "iss / sub: The client's client_id.  aud: The FHIR authorization server's token URL."
    "exp: ... SHALL be no more than five minutes in the future."
    "jti: ... The authorization server SHALL ensure that the jti ... is not reused."

authlib's ``JWTBearerClientAssertion`` decodes with joserfc's default ("recommended")
algorithms, which exclude RS384 and ES384, and does not bound ``exp``; both are done here.
"""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .jwks import JwksCache
from .jwks import JwksUnavailable
from .scopes import grant_scopes

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import ClientRegistration
    from .grants import GrantStore

__all__ = [
    "ASSERTION_ALGS",
    "ASSERTION_MAX_LIFETIME",
    "CLOCK_SKEW",
    "ClientModel",
    "SmartClientAssertion",
]

ASSERTION_ALGS = ("RS384", "ES384")
ASSERTION_MAX_LIFETIME = 300
CLOCK_SKEW = 5
"""Seconds of clock difference tolerated on ``exp`` in both directions."""


class ClientModel:
    """A :class:`ClientRegistration` behind authlib's ``ClientMixin`` interface."""

    def __init__(self, registration: ClientRegistration) -> None:
        self.registration = registration

    def get_client_id(self) -> str:
        return self.registration.client_id

    def get_default_redirect_uri(self) -> str | None:
        """None: SMART requires ``redirect_uri`` on every authorization request."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Requested scopes the registration allows, in request order (``None`` if none)."""
        granted = grant_scopes(scope, self.registration.allowed_scopes)
        return " ".join(granted) if granted else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match against a registered URI (RFC 6749 section 3.1.2.3)."""
        return redirect_uri in self.registration.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        secret = self.registration.client_secret
        if self.registration.auth_method != "client_secret_basic" or not secret:
            return False
        return hmac.compare_digest(secret.encode("utf-8"), client_secret.encode("utf-8"))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Only the registered method authenticates at the token endpoint."""
        return endpoint != "token" or method == self.registration.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.registration.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.registration.grant_types


class SmartClientAssertion(JWTBearerClientAssertion):  # type: ignore[misc]
    """``private_key_jwt`` as SMART profiles it (RS384/ES384, ``kid``, 5-minute ``exp``)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(
        self,
        *,
        token_endpoint: Callable[[], str],
        grants: GrantStore,
        jwks_cache: JwksCache,
        registration: Callable[[str], ClientRegistration | None],
    ) -> None:
        super().__init__(validate_jti=True, leeway=CLOCK_SKEW)
        self._token_endpoint = token_endpoint
        self._grants = grants
        self._jwks_cache = jwks_cache
        self._registration = registration

    def get_audiences(self) -> list[str]:
        """The token endpoint URL is the only accepted ``aud``."""
        return [self._token_endpoint()]

    def resolve_client_public_key(self, client: ClientModel) -> KeySet:
        try:
            return self._jwks_cache.key_set(client.registration)
        except JwksUnavailable as exc:
            raise InvalidClientError(description=str(exc)) from exc

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        """Check ``alg`` and ``kid``, verify the signature, then the claims."""
        try:
            header = jws.extract_compact(assertion.encode("ascii")).headers()
        except (JoseError, UnicodeEncodeError) as exc:
            raise InvalidClientError(description="Invalid JWT assertion.") from exc
        alg = header.get("alg")
        if alg not in ASSERTION_ALGS:
            raise InvalidClientError(
                description="Client assertions must be signed with RS384 or ES384."
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidClientError(description="The client assertion header has no kid.")
        if not isinstance(resolve_key, KeySet):
            raise InvalidClientError(description="The client has no usable key set.")
        try:
            key = resolve_key.get_by_kid(kid)
            token = jwt.decode(assertion, key, algorithms=[alg])
        except JoseError as exc:
            raise InvalidClientError(
                description="The client assertion signature or kid is not valid."
            ) from exc
        self._check_jku(header.get("jku"), token.claims.get("sub"))
        self.verify_claims(token.claims)
        return dict(token.claims)

    def _check_jku(self, jku: Any, client_id: Any) -> None:
        if jku is None:
            return
        registration = self._registration(str(client_id))
        if registration is None or registration.jwks_uri is None or jku != registration.jwks_uri:
            raise InvalidClientError(description="The jku header is not the registered jwks_uri.")

    def verify_claims(self, claims: dict[str, Any]) -> None:
        """SMART's bound on ``exp``, then authlib's checks (iss, sub, aud, exp, jti)."""
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidClientError(description="The client assertion needs a numeric exp.")
        if exp - time.time() > ASSERTION_MAX_LIFETIME + CLOCK_SKEW:
            raise InvalidClientError(
                description="The client assertion exp is more than 300 seconds in the future."
            )
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: Any) -> bool:
        """Accept each ``jti`` once per client."""
        return self._grants.remember_jti(str(claims["sub"]), str(jti), float(claims["exp"]))
