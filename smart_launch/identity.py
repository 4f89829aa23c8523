# SPDX-License-Identifier: Apache-2.0
"""id_token validation and the ``fhirUser`` claim.

SMART App Launch 2.2, "Scopes for requesting identity data":
https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data

    "the app SHALL validate the id_token ... examine the iss ... fetch
    {issuer}/.well-known/openid-configuration ... jwks_uri ... validate the signature."
    "fhirUser ... may be relative (to the FHIR base) or absolute."

OpenID Connect Core 1.0 section 3.1.3.7: ``iss`` must equal the issuer, ``aud`` must contain the
client id, the current time must be before ``exp``.  The claims are checked by
:func:`smart_launch.claims.check_claims`, the keys come from :mod:`smart_launch.jwks`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urljoin

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .claims import ClaimsRejected
from .claims import check_claims
from .errors import IdTokenError
from .errors import UpstreamUnavailable
from .http import ResponseTooLarge
from .http import get_bounded
from .jwks import KeySetCache
from .jwks import KeySetError

__all__ = [
    "ID_TOKEN_ALGS",
    "IdentityClaims",
    "JwksCache",
    "validate_id_token",
]

ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384")
"""Asymmetric algorithms only: ``none`` and HMAC are never accepted."""

_MAX_ISSUERS = 64

_FHIR_USER_TYPES = {"Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person"}


@dataclass(frozen=True)
class IdentityClaims:
    """What Quietline keeps from a validated id_token."""

    subject: str
    fhir_user: str | None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Every validated claim (for a tenant's claim-based role mapping); never log or render."""


class JwksCache:
    """An issuer's signing keys, found through its OpenID configuration.

    The key set itself lives in a :class:`~smart_launch.jwks.KeySetCache` (TTL, at most one
    refetch per ``min_refetch`` seconds for an unknown ``kid``, bounded size); the issuer's
    ``jwks_uri`` is looked up once per ``ttl``.
    """

    def __init__(
        self,
        session: requests.Session,
        ttl: float = 300.0,
        *,
        min_refetch: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._uris: dict[str, tuple[float, str]] = {}
        self._sets = KeySetCache(session, ttl=ttl, min_refetch=min_refetch, clock=clock)

    def keys(self, issuer: str, *, refresh: bool = False) -> KeySet:
        """The issuer's keys; ``refresh`` asks for a (rate-limited) refetch."""
        url = self._jwks_uri(issuer)
        try:
            return self._sets.refetch(url) if refresh else self._sets.get(url)
        except KeySetError as exc:
            raise IdTokenError(
                "The EHR's identity keys could not be read; sign-in refused."
            ) from exc

    def _jwks_uri(self, issuer: str) -> str:
        now = self._clock()
        with self._lock:
            cached = self._uris.get(issuer)
        if cached is not None and cached[0] > now:
            return cached[1]
        uri = self._discover(issuer)
        with self._lock:
            if len(self._uris) >= _MAX_ISSUERS:
                self._uris.clear()
            self._uris[issuer] = (now + self._ttl, uri)
        return uri

    def _discover(self, issuer: str) -> str:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            status, body = get_bounded(self._session, url)
        except ResponseTooLarge as exc:
            raise IdTokenError("The EHR's identity configuration is too large.") from exc
        except requests.RequestException as exc:
            raise UpstreamUnavailable from exc
        if status != 200:
            raise IdTokenError("The EHR's identity keys could not be fetched; sign-in refused.")
        try:
            config = json.loads(body)
        except ValueError as exc:
            raise IdTokenError("The EHR's identity configuration is not JSON.") from exc
        if not isinstance(config, dict):
            raise IdTokenError("The EHR's identity configuration is malformed.")
        if config.get("issuer") not in {issuer, issuer.rstrip("/")}:
            raise IdTokenError("The EHR's identity configuration names another issuer.")
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise IdTokenError("The EHR's identity configuration has no jwks_uri.")
        return urljoin(issuer.rstrip("/") + "/", jwks_uri)


def _decode(id_token: str, key_set: KeySet) -> jwt.Token:
    return jwt.decode(id_token, key_set, algorithms=list(ID_TOKEN_ALGS))


_CLAIM_MESSAGES = {
    "iss": "The identity token was issued by another server; sign-in refused.",
    "aud": "The identity token was issued for another app; sign-in refused.",
    "exp": "The identity token has expired; sign-in refused.",
    "sub": "The identity token names no user; sign-in refused.",
}


def validate_id_token(
    id_token: str,
    *,
    issuer: str,
    client_id: str,
    fhir_base: str,
    jwks: JwksCache,
    now: float | None = None,
    leeway: int = 60,
) -> IdentityClaims:
    """Verify signature, ``iss``, ``aud``, ``exp``, ``iat``/``nbf`` and ``sub``; resolve
    ``fhirUser`` to an absolute URL.

    :raises IdTokenError: on any failure; no session may be created.
    """
    try:
        token = _decode(id_token, jwks.keys(issuer))
    except JoseError:
        try:
            token = _decode(id_token, jwks.keys(issuer, refresh=True))
        except JoseError as exc:
            raise IdTokenError(
                "The EHR's identity token signature is not valid; sign-in refused."
            ) from exc
    claims = token.claims
    try:
        check_claims(
            claims, issuer=issuer, audience=client_id, required=("sub",), leeway=leeway, now=now
        )
    except ClaimsRejected as exc:
        message = _CLAIM_MESSAGES.get(
            exc.claim, "The identity token's times are not valid; sign-in refused."
        )
        raise IdTokenError(message) from exc
    return IdentityClaims(
        subject=str(claims["sub"]),
        fhir_user=_fhir_user(claims.get("fhirUser"), fhir_base),
        claims=dict(claims),
    )


def _fhir_user(value: object, fhir_base: str) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    absolute = urljoin(fhir_base.rstrip("/") + "/", value)
    parts = absolute.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] not in _FHIR_USER_TYPES:
        raise IdTokenError("The identity token's fhirUser is not a FHIR user reference.")
    return absolute
