# SPDX-License-Identifier: Apache-2.0
"""Checking the EHR's JWT on every CDS Hooks call.

CDS Hooks 2.0, "Trusting CDS Clients" (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients):

    "the request MUST include an Authorization header presenting the JWT as a Bearer token ...
    for every single CDS Service call, whether that be a Discovery call, a single CDS Service
    invocation ..."  Header ``alg``, ``kid``, ``typ`` (``JWT``) REQUIRED, ``jku`` OPTIONAL;
    claims ``iss``, ``aud`` (the endpoint URL), ``exp``, ``iat``, ``jti`` REQUIRED.
    "CDS Services SHOULD limit the CDS Clients they trust by maintaining an allowlist of iss
    and jku urls."  "JWTs SHALL NOT be signed using the none algorithm ... [or] any symmetric
    algorithm."

Quietline requires ``jku``: the allow-list is a list of exact ``(iss, jku)`` pairs in a tenant's
``options["cds"]["clients"]``, and no key is fetched for a pair that is not on it.  Every
refusal before the signature is checked reads the same for an unknown issuer and an unknown key
URL, so a caller learns nothing about which EHRs are registered.  The ``jti`` replay check is
in :mod:`plugin.cds.replay`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from smart_launch.claims import ClaimsRejected
from smart_launch.claims import check_claims
from smart_launch.errors import SmartLaunchError
from smart_launch.jwks import KeySetCache
from smart_launch.jwks import KeySetError

from ..tenants.services import TenantView
from .errors import InvalidToken

__all__ = [
    "ALLOWED_ALGS",
    "CdsCaller",
    "EhrJwtVerifier",
    "JkuKeys",
    "allow_listed",
]

ALLOWED_ALGS = frozenset({"ES384", "ES256", "RS384", "RS256", "PS384"})
"""Asymmetric algorithms only; ``none`` and every ``HS*`` are refused by name."""

_REGISTRIES = {alg: jws.JWSRegistry(algorithms=[alg]) for alg in ALLOWED_ALGS}
"""One registry per algorithm, so a token is verified with exactly the algorithm its header
named and already checked (built once, not per call)."""

MAX_TOKEN_BYTES = 8192
MAX_JWKS_BYTES = 64 * 1024
MAX_JTI = 128

_NOT_ALLOWED = "The token's issuer and key URL are not on Quietline's allow-list."
_Key = RSAKey | ECKey


@dataclass(frozen=True)
class CdsCaller:
    """An EHR whose JWT passed every check except the ``jti`` replay check."""

    tenant: str
    iss: str
    jti: str
    expires_at: float


def allow_listed(tenants: Iterable[TenantView], iss: str, jku: str) -> list[str]:
    """Ids of the tenants whose ``options["cds"]["clients"]`` list exactly ``(iss, jku)``."""
    found = []
    for view in tenants:
        cds = view.options.get("cds")
        clients = cds.get("clients") if isinstance(cds, dict) else None
        for client in clients if isinstance(clients, list) else ():
            if isinstance(client, dict) and client.get("iss") == iss and client.get("jku") == jku:
                found.append(view.id)
                break
    return found


class JkuKeys:
    """Public keys fetched from allow-listed ``jku`` URLs, through the shared
    :class:`~smart_launch.jwks.KeySetCache` (TTL, at most one refetch per ``min_refresh``
    seconds per URL for an unknown ``kid``, a bounded number of URLs, size-checked bodies).

    :param session: from :func:`smart_launch.http.make_session` (proxies ignored).
    :param timeout: ``(connect, read)`` seconds for one fetch.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        ttl: float = 300.0,
        min_refresh: float = 10.0,
        max_urls: int = 64,
        timeout: tuple[float, float] = (2.0, 3.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sets = KeySetCache(
            session,
            ttl=ttl,
            min_refetch=min_refresh,
            max_urls=max_urls,
            timeout=timeout,
            limit=MAX_JWKS_BYTES,
            clock=clock,
        )

    def cached_urls(self) -> int:
        """How many key-set URLs are cached."""
        return len(self._sets)

    def key(self, jku: str, kid: str) -> _Key:
        """The key ``kid`` of the set at ``jku``.

        :raises InvalidToken: when the set cannot be fetched or has no such key.
        """
        try:
            found = _find(self._sets.get(jku), kid) or _find(self._sets.refetch(jku), kid)
        except KeySetError as exc:
            if "too large" in exc.description or "usable" in exc.description:
                raise InvalidToken(f"{exc.description[:-1]} (its jku).") from exc
            raise InvalidToken("The EHR's key set could not be fetched from its jku.") from exc
        except SmartLaunchError as exc:
            raise InvalidToken("The EHR's key set could not be fetched from its jku.") from exc
        if found is None:
            raise InvalidToken("The token's kid is not in the EHR's key set at its jku.")
        return found


def _find(key_set: KeySet, kid: str) -> _Key | None:
    for key in key_set.keys:
        if isinstance(key, _Key) and key.kid == kid:
            return key
    return None


class EhrJwtVerifier:
    """Checks the ``Authorization: Bearer`` JWT of one CDS Hooks request.

    Order: the header (algorithm, ``typ``, ``kid``, ``jku``), then the allow-list (no
    outbound request before it), then the signature, then ``aud``, ``exp``, ``iat``, ``jti``.

    :param tenants: returns the registered tenants (the allow-list lives in their options).
    :param leeway: seconds of clock skew tolerated on ``exp`` and ``iat``.
    :param max_lifetime: the furthest ``exp`` may lie in the future; seen ``jti`` values are
        kept until ``exp``, so this bounds that table too.
    """

    def __init__(
        self,
        tenants: Callable[[], Iterable[TenantView]],
        keys: JkuKeys,
        *,
        leeway: int = 30,
        max_lifetime: int = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tenants = tenants
        self._keys = keys
        self.leeway = leeway
        self._max_lifetime = max_lifetime
        self._clock = clock

    def verify(self, authorization: str | None, audience: str) -> CdsCaller:
        """:raises InvalidToken: with a message that names what was wrong."""
        token = _bearer(authorization)
        try:
            unverified = jws.extract_compact(token)
            header = unverified.headers()
            claims = json.loads(unverified.payload)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("The authorization token is not a compact JWT.") from exc
        alg, kid, jku = _header(header)
        if not isinstance(claims, dict) or not isinstance(claims.get("iss"), str):
            raise InvalidToken("The token has no iss claim.")
        iss = claims["iss"]
        tenant = self._tenant(iss, jku, claims.get("tenant"))
        key = self._keys.key(jku, kid)
        try:
            # The claims above were read from this very object: once its signature checks
            # out they are the signed ones.
            valid = jws.validate_compact(unverified, key, registry=_REGISTRIES[alg])
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("The token's signature is not valid.") from exc
        if not valid:
            raise InvalidToken("The token's signature is not valid.")
        return self._claims(claims, tenant, audience)

    def _tenant(self, iss: str, jku: str, claimed: object) -> str:
        matches = allow_listed(self._tenants(), iss, jku)
        if len(matches) > 1:
            # Two registrations trust the same EHR key: the optional ``tenant`` claim decides.
            matches = [tenant for tenant in matches if tenant == claimed]
        if len(matches) != 1:
            raise InvalidToken(_NOT_ALLOWED)
        return matches[0]

    def _claims(self, claims: dict[str, Any], tenant: str, audience: str) -> CdsCaller:
        now = self._clock()
        try:
            check_claims(
                claims,
                issuer=claims["iss"],
                audience=audience,
                required=("iat", "jti"),
                leeway=self.leeway,
                now=now,
            )
        except ClaimsRejected as exc:
            raise InvalidToken(_claim_message(exc)) from exc
        exp = float(claims["exp"])
        if exp - now > self._max_lifetime + self.leeway:
            raise InvalidToken(
                f"The token's exp is more than {self._max_lifetime // 60} minutes away."
            )
        jti = claims["jti"]
        if len(jti) > MAX_JTI:
            raise InvalidToken(f"The token needs a jti claim of 1 to {MAX_JTI} characters.")
        return CdsCaller(tenant=tenant, iss=claims["iss"], jti=jti, expires_at=exp)


def _claim_message(rejected: ClaimsRejected) -> str:  # noqa: PLR0911 (one message per claim)
    if rejected.claim == "aud":
        return "The token's aud is not the URL of this endpoint."
    if rejected.claim == "jti":
        return f"The token needs a jti claim of 1 to {MAX_JTI} characters."
    if rejected.problem == "expired":
        return "The token has expired."
    if rejected.claim == "iat" and rejected.problem == "future":
        return "The token's iat is in the future."
    if rejected.claim == "nbf":
        return "The token is not valid yet (nbf)."
    if rejected.claim in {"exp", "iat"}:
        return "The token needs numeric exp and iat claims."
    return f"The token's {rejected.claim} claim is not valid."


def _bearer(authorization: str | None) -> bytes:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("This request needs an Authorization: Bearer JWT signed by the EHR.")
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("The authorization token is too long.")
    return token.encode("ascii", "replace")


def _header(header: dict[str, Any]) -> tuple[str, str, str]:
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS:
        raise InvalidToken(
            "The token's alg is not accepted: use ES384, ES256, RS384, RS256 or PS384 "
            "(unsigned and HMAC-signed tokens are refused)."
        )
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise InvalidToken("The token's typ must be JWT.")
    kid, jku = header.get("kid"), header.get("jku")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("The token's header needs a kid.")
    if not isinstance(jku, str) or not jku:
        raise InvalidToken("The token's header needs a jku (the URL of the EHR's key set).")
    return str(alg), kid, jku
