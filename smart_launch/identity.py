# SPDX-License-Identifier: Apache-2.0
"""id_token validation and the ``fhirUser`` claim.

SMART App Launch 2.2, "Scopes for requesting identity data":
https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data

    "the app SHALL validate the id_token ... examine the iss ... fetch
    {issuer}/.well-known/openid-configuration ... jwks_uri ... validate the signature."
    "fhirUser ... may be relative (to the FHIR base) or absolute."

OpenID Connect Core 1.0 section 3.1.3.7: ``iss`` must equal the issuer, ``aud`` must contain the
client id, the current time must be before ``exp``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urljoin

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .errors import IdTokenError
from .errors import UpstreamUnavailable

__all__ = [
    "ID_TOKEN_ALGS",
    "IdentityClaims",
    "JwksCache",
    "validate_id_token",
]

ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384")
"""Asymmetric algorithms only: ``none`` and HMAC are never accepted."""

_FHIR_USER_TYPES = {"Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person"}


@dataclass(frozen=True)
class IdentityClaims:
    """What Quietline keeps from a validated id_token."""

    subject: str
    fhir_user: str | None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Every validated claim (for a tenant's claim-based role mapping); never log or render."""


class JwksCache:
    """Fetches an issuer's signing keys through its OpenID configuration, with a TTL.

    An unknown ``kid`` forces one refetch (key rotation) before the token is refused.
    """

    def __init__(self, session: requests.Session, ttl: float = 300.0) -> None:
        self._session = session
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, KeySet]] = {}

    def keys(self, issuer: str, *, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(issuer)
        if cached is not None and cached[0] > now and not refresh:
            return cached[1]
        key_set = self._fetch(issuer)
        with self._lock:
            self._entries[issuer] = (now + self._ttl, key_set)
        return key_set

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._session.get(url, allow_redirects=False)
        except requests.RequestException as exc:
            raise UpstreamUnavailable from exc
        if response.status_code != 200:
            raise IdTokenError("The EHR's identity keys could not be fetched; sign-in refused.")
        try:
            data = response.json()
        except ValueError as exc:
            raise IdTokenError("The EHR's identity configuration is not JSON.") from exc
        if not isinstance(data, dict):
            raise IdTokenError("The EHR's identity configuration is malformed.")
        return data

    def _fetch(self, issuer: str) -> KeySet:
        config = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if config.get("issuer") not in {issuer, issuer.rstrip("/")}:
            raise IdTokenError("The EHR's identity configuration names another issuer.")
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise IdTokenError("The EHR's identity configuration has no jwks_uri.")
        document = self._get_json(urljoin(issuer.rstrip("/") + "/", jwks_uri))
        try:
            return KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise IdTokenError("The EHR published unusable identity keys.") from exc


def _decode(id_token: str, key_set: KeySet) -> jwt.Token:
    return jwt.decode(id_token, key_set, algorithms=list(ID_TOKEN_ALGS))


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
    """Verify signature, ``iss``, ``aud`` and ``exp``; resolve ``fhirUser`` to an absolute URL.

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
    current = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise IdTokenError("The identity token was issued by another server; sign-in refused.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise IdTokenError("The identity token was issued for another app; sign-in refused.")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp + leeway < current:
        raise IdTokenError("The identity token has expired; sign-in refused.")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise IdTokenError("The identity token names no user; sign-in refused.")
    return IdentityClaims(
        subject=subject,
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
