# SPDX-License-Identifier: Apache-2.0
"""SMART Backend Services: ``client_credentials`` tokens with a ``private_key_jwt`` assertion.

An EHR that registers the backend client with a client secret instead is served too: the
request then authenticates with HTTP Basic (RFC 6749 section 2.3.1) and carries no assertion.
SMART lists only asymmetric authentication for Backend Services, so this is for EHRs that ask
for it.

SMART App Launch 2.2, "Backend Services":
https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html

    "For Backend Services, requested scopes will be ``system/`` scopes" (``user/`` and
    ``patient/`` "would require out-of-band coordination", so Quietline refuses them locally).

    Access token response: ``access_token``, ``token_type`` ("Fixed value: bearer"),
    ``expires_in`` ("The recommended value is 300") and ``scope`` ("can be different from the
    scopes requested by the app") are all required.  "Access tokens issued under this profile
    SHALL be short-lived; the expires_in value SHOULD NOT exceed 300 ... clients can request new
    access tokens as needed."  "Refresh tokens SHOULD NOT be issued."

A missing ``expires_in`` is taken as 300 s and a missing ``scope`` as the requested scopes, each
with a logged warning; a refresh token is dropped unused.  A new token (fresh assertion and
``jti``) is requested 30 s before the cached one expires.
"""

from __future__ import annotations

import logging
import threading
import time
from base64 import b64encode
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests

from .discovery import ConfigurationCache
from .errors import ClientAuthError
from .errors import ScopeError
from .errors import TokenRequestError
from .errors import UpstreamUnavailable
from .http import make_session
from .keys import CLIENT_ASSERTION_TYPE
from .keys import SUPPORTED_ALGS
from .keys import ClientKeys
from .keys import client_assertion

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "EXPIRY_MARGIN",
    "BackendServicesClient",
    "BackendToken",
    "TokenEndpointUnavailable",
    "parse_token_response",
    "system_scopes",
]

DEFAULT_EXPIRES_IN = 300
"""Seconds assumed when a server omits the REQUIRED ``expires_in`` (the SMART recommendation)."""
EXPIRY_MARGIN = 30
"""A cached token is replaced this many seconds before it expires."""
_MAX_ERROR_TEXT = 300
_BUSY_STATUSES = frozenset({429, 502, 503, 504})

log = logging.getLogger(__name__)


class TokenEndpointUnavailable(TokenRequestError):
    """The token endpoint is overloaded or down (429, 502, 503, 504): worth asking again."""

    error = "token_endpoint_unavailable"
    description = "The EHR's token endpoint is not answering right now."


@dataclass(frozen=True)
class BackendToken:
    """A validated token response; the token itself is kept out of ``repr``.

    ``expires_at`` is on the :func:`time.monotonic` clock.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    expires_at: float
    scopes: frozenset[str]
    expires_in_assumed: bool = False

    def usable(self, now: float | None = None) -> bool:
        """True until :data:`EXPIRY_MARGIN` seconds before expiry.

        :param now: a :func:`time.monotonic` reading; the current one if None.
        """
        return (time.monotonic() if now is None else now) < self.expires_at - EXPIRY_MARGIN


def system_scopes(scope: str) -> tuple[str, ...]:
    """Split a scope string and refuse anything but ``system/`` scopes.

    :param scope: space-separated scopes, e.g. ``system/Task.rs system/Patient.r``.
    :raises ScopeError: when the string is empty or holds a non-``system/`` scope.
    """
    scopes = tuple(scope.split())
    if not scopes:
        raise ScopeError("Backend Services needs at least one system/ scope.")
    refused = [s for s in scopes if not s.startswith("system/") or len(s) == len("system/")]
    if refused:
        raise ScopeError(
            "Backend Services can only request system/ scopes; refused: " + ", ".join(refused)
        )
    return scopes


def _expires_in(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) or None
    return None


def parse_token_response(
    data: object, *, requested: tuple[str, ...], now: float | None = None
) -> BackendToken:
    """Validate a Backend Services token response.

    A missing ``expires_in`` is treated as :data:`DEFAULT_EXPIRES_IN`, a missing ``scope`` as
    the requested scopes (RFC 6749 section 5.1); both are logged.

    :param data: the decoded JSON body.
    :param requested: the scopes that were requested.
    :param now: a :func:`time.monotonic` reading taken before the request was sent.
    :raises TokenRequestError: when ``access_token``, ``token_type`` or ``expires_in`` is
        missing or wrong.
    """
    if not isinstance(data, dict):
        raise TokenRequestError("The EHR's token response is not a JSON object.")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenRequestError("The EHR's token response has no access_token.")
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.casefold() != "bearer":
        raise TokenRequestError("The EHR's token response is not a bearer token.")
    assumed = "expires_in" not in data
    lifetime = DEFAULT_EXPIRES_IN if assumed else _expires_in(data["expires_in"])
    if lifetime is None:
        raise TokenRequestError("The EHR's token response has an invalid expires_in.")
    if assumed:
        log.warning(
            "Token response lacks the REQUIRED expires_in; assuming %d s.", DEFAULT_EXPIRES_IN
        )
    if "refresh_token" in data:
        log.warning("Token response carried a refresh_token; Backend Services discards it.")
    scope = data.get("scope")
    if not isinstance(scope, str):
        log.warning("Token response lacks the REQUIRED scope; assuming the requested scopes.")
    granted = frozenset(scope.split() if isinstance(scope, str) else requested)
    started = time.monotonic() if now is None else now
    return BackendToken(token, token_type, lifetime, started + lifetime, granted, assumed)


def _refusal(response: requests.Response, *hidden: str) -> TokenRequestError:
    """The error for a non-200 answer; the ``hidden`` credentials are redacted from it."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    said = ""
    if isinstance(body, dict):
        parts = [body.get("error"), body.get("error_description")]
        said = ": ".join(p for p in parts if isinstance(p, str) and p)
    for secret in hidden:
        said = said.replace(secret, "[redacted]")
    said = said[:_MAX_ERROR_TEXT]  # redact, then shorten
    if response.status_code in _BUSY_STATUSES:
        return TokenEndpointUnavailable(
            f"The EHR's token endpoint is unavailable (HTTP {response.status_code})."
        )
    text = f"The EHR refused to issue an access token (HTTP {response.status_code})"
    return TokenRequestError(f"{text}: {said}." if said else f"{text}.")


class BackendServicesClient:
    """Gets and caches SMART Backend Services access tokens; a :class:`~.fhir.TokenSource`.

    :param fhir_base: the FHIR base whose ``.well-known/smart-configuration`` names the
        token endpoint.
    :param client_id: the client id registered with the EHR.
    :param keys: the app's signing keys (``None`` with ``client_secret``).
    :param scope: space-separated ``system/`` scopes.
    :param alg: ``RS384`` or ``ES384`` for the client assertion.
    :param session: a session from :func:`smart_launch.http.make_session`; one is made if None.
    :param token_endpoint: skips discovery when given.
    :param client_secret: authenticate with HTTP Basic and this secret instead of an assertion.
    :raises ScopeError: when ``scope`` holds anything but ``system/`` scopes (no request is made).
    :raises ClientAuthError: when ``alg`` is unsupported, ``keys`` lacks its key, or there are
        neither keys nor a secret.
    """

    def __init__(
        self,
        fhir_base: str,
        client_id: str,
        keys: ClientKeys | None,
        scope: str,
        *,
        alg: str = "RS384",
        session: requests.Session | None = None,
        token_endpoint: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self.scopes = system_scopes(scope)
        if client_secret is None:
            if keys is None:
                raise ClientAuthError("A backend client needs signing keys or a client secret.")
            if alg not in SUPPORTED_ALGS:
                raise ClientAuthError(f"Unsupported client assertion algorithm {alg}.")
            keys.key(alg)
        self._basic: tuple[str, str] | None = (
            None
            if client_secret is None
            else (client_secret, b64encode(f"{client_id}:{client_secret}".encode()).decode())
        )
        self.fhir_base = fhir_base.rstrip("/")
        self.client_id = client_id
        self.alg = alg
        self._keys = keys
        self._session = session if session is not None else make_session()
        self._configs = ConfigurationCache(self._session)
        self._token_endpoint = token_endpoint
        self._lock = threading.Lock()
        self._token: BackendToken | None = None

    @property
    def token_endpoint(self) -> str:
        """The token endpoint, given or discovered (purpose ``backend``).

        :raises DiscoveryError: when the configuration is unusable or refuses our method.
        :raises ClientAuthError: when the EHR lists signing algorithms without ours.
        :raises UpstreamUnavailable: when the EHR cannot be reached.
        """
        if self._token_endpoint is not None:
            return self._token_endpoint
        config = self._configs.get(self.fhir_base, purpose="backend")
        algs = config.get("token_endpoint_auth_signing_alg_values_supported")
        if self._basic is None and isinstance(algs, list) and self.alg not in algs:
            raise ClientAuthError(f"The EHR does not accept {self.alg} client assertions.")
        return config.token_endpoint

    @property
    def granted_scopes(self) -> frozenset[str]:
        """The scopes granted with the current token (which is obtained if needed).

        :raises TokenRequestError: when no token can be obtained.
        """
        return self.token().scopes

    def access_token(self) -> str:
        """A bearer token valid for at least :data:`EXPIRY_MARGIN` more seconds.

        :raises TokenRequestError: when the EHR refuses or answers something unusable.
        :raises UpstreamUnavailable: when the EHR cannot be reached.
        """
        return self.token().access_token

    def token(self) -> BackendToken:
        """The cached token while usable, else a new one (one request at a time).

        :raises TokenRequestError: when the EHR refuses or answers something unusable.
        :raises UpstreamUnavailable: when the EHR cannot be reached.
        """
        with self._lock:
            if self._token is None or not self._token.usable():
                self._token = self._request_token()
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token, e.g. after the FHIR server answered 401."""
        with self._lock:
            self._token = None

    def _request_token(self) -> BackendToken:
        endpoint = self.token_endpoint
        form = {"grant_type": "client_credentials", "scope": " ".join(self.scopes)}
        headers = {"Accept": "application/json"}
        hidden: tuple[str, ...]
        if self._basic is not None:
            headers["Authorization"] = "Basic " + self._basic[1]
            hidden = self._basic
        else:
            assert self._keys is not None  # checked in __init__
            assertion = client_assertion(
                self._keys, client_id=self.client_id, token_endpoint=endpoint, alg=self.alg
            )
            form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
            form["client_assertion"] = assertion
            hidden = (assertion,)
        started = time.monotonic()
        try:
            response = self._session.post(
                endpoint, data=form, headers=headers, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise UpstreamUnavailable from exc
        if response.status_code != 200:
            raise _refusal(response, *hidden)
        try:
            data = response.json()
        except ValueError:
            raise TokenRequestError("The EHR's token response is not JSON.") from None
        return parse_token_response(data, requested=self.scopes, now=started)
