# SPDX-License-Identifier: Apache-2.0
"""SMART configuration discovery.

SMART App Launch 2.2, "Conformance": https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html

    "code_challenge_methods_supported: REQUIRED, array of PKCE code challenge methods supported.
    The S256 method SHALL be included in this list, and the plain method SHALL NOT be included
    in this list."

    "Servers SHALL ... return absolute URLs"; apps resolve relative ones against the FHIR base.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

from .errors import DiscoveryError
from .errors import UpstreamUnavailable
from .http import ResponseTooLarge
from .http import get_bounded

__all__ = [
    "STORED_FIELDS",
    "ConfigurationCache",
    "SmartConfiguration",
    "fetch_configuration",
    "well_known_url",
]

_URL_FIELDS = (
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "issuer",
    "registration_endpoint",
    "management_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "user_access_brand_bundle",
)


STORED_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "capabilities",
)
"""What an app keeps of a configuration to start a sign-in later without fetching it again."""


def well_known_url(iss: str) -> str:
    """``{iss}/.well-known/smart-configuration``."""
    return iss.rstrip("/") + "/.well-known/smart-configuration"


class SmartConfiguration(dict[str, Any]):
    """A validated ``.well-known/smart-configuration`` document with absolute URLs."""

    def __init__(self, data: dict[str, Any], *, fhir_base: str) -> None:
        super().__init__(data)
        self.fhir_base = fhir_base.rstrip("/")
        base = self.fhir_base + "/"
        for name in _URL_FIELDS:
            value = self.get(name)
            if isinstance(value, str) and value:
                self[name] = urljoin(base, value)

    @classmethod
    def from_stored(cls, data: dict[str, Any], *, fhir_base: str) -> SmartConfiguration:
        """A configuration kept by :meth:`stored`, validated again for a launch.

        :raises DiscoveryError: when the kept values no longer pass validation.
        """
        config = cls({k: v for k, v in data.items() if k in STORED_FIELDS}, fhir_base=fhir_base)
        config.validate_for_launch()
        return config

    def stored(self) -> dict[str, Any]:
        """The fields of :data:`STORED_FIELDS` this configuration has, with absolute URLs."""
        return {name: self[name] for name in STORED_FIELDS if self.get(name) is not None}

    @property
    def authorization_endpoint(self) -> str:
        return str(self["authorization_endpoint"])

    @property
    def token_endpoint(self) -> str:
        return str(self["token_endpoint"])

    @property
    def capabilities(self) -> frozenset[str]:
        value = self.get("capabilities") or []
        return frozenset(str(c) for c in value) if isinstance(value, list) else frozenset()

    @property
    def issuer(self) -> str | None:
        value = self.get("issuer")
        return str(value) if value else None

    @property
    def jwks_uri(self) -> str | None:
        value = self.get("jwks_uri")
        return str(value) if value else None

    def validate_token_endpoint(self) -> None:
        self._require_url("token_endpoint")

    def validate_authorization_endpoint(self) -> None:
        self._require_url("authorization_endpoint")

    def validate_code_challenge_methods_supported(self) -> None:
        methods = self.get("code_challenge_methods_supported")
        if not isinstance(methods, list) or "S256" not in methods:
            raise DiscoveryError(
                "The EHR does not support PKCE with S256, which Quietline requires; "
                "sign-in was not attempted."
            )
        if "plain" in methods:
            raise DiscoveryError(
                "The EHR offers the insecure PKCE 'plain' method; sign-in was not attempted."
            )

    def validate_capabilities(self, *, required: bool = True) -> None:
        """``capabilities`` is REQUIRED and is an array of strings.

        Backend Services tolerates its absence (some backend-only servers omit it).
        """
        value = self.get("capabilities")
        if value is None and not required:
            return
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise DiscoveryError("The EHR's SMART capabilities are missing or malformed.")

    def validate_for_launch(self) -> None:
        """Everything an EHR or standalone launch needs (authorization code + PKCE)."""
        self.validate_authorization_endpoint()
        self.validate_token_endpoint()
        self.validate_code_challenge_methods_supported()
        self.validate_capabilities()

    def validate_for_backend(self) -> None:
        """Everything SMART Backend Services needs (client credentials, no PKCE)."""
        self.validate_token_endpoint()
        self.validate_capabilities(required=False)

    def _require_url(self, name: str) -> None:
        value = self.get(name)
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in {"https", "http"} or not parts.netloc:
            raise DiscoveryError(f"The EHR's SMART configuration has no usable {name}.")


def fetch_configuration(iss: str, session: requests.Session) -> SmartConfiguration:
    """GET and parse the SMART configuration of ``iss`` (not yet validated for a purpose).

    The body is read through :func:`get_bounded`, so an oversized answer costs at most
    :data:`smart_launch.http.MAX_DOCUMENT_BYTES` of memory.

    :raises UpstreamUnavailable: when the EHR cannot be reached.
    :raises DiscoveryError: for a non-200 answer, an oversized body or a body that is not a
        JSON object.
    """
    try:
        status, body = get_bounded(session, well_known_url(iss))
    except ResponseTooLarge as exc:
        raise DiscoveryError("The EHR's SMART configuration is too large to read.") from exc
    except requests.RequestException as exc:
        raise UpstreamUnavailable from exc
    if status != 200:
        raise DiscoveryError(f"The EHR's SMART configuration answered HTTP {status}.")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise DiscoveryError("The EHR's SMART configuration is not JSON.") from exc
    if not isinstance(data, dict):
        raise DiscoveryError("The EHR's SMART configuration is not a JSON object.")
    return SmartConfiguration(data, fhir_base=iss)


class ConfigurationCache:
    """A small thread-safe TTL cache of validated configurations, keyed by ``iss``."""

    def __init__(self, session: requests.Session, ttl: float = 300.0) -> None:
        self._session = session
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, SmartConfiguration]] = {}

    def get(self, iss: str, *, purpose: str = "launch") -> SmartConfiguration:
        """Return the configuration of ``iss`` validated for ``launch`` or ``backend``."""
        key = (iss, purpose)
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        config = fetch_configuration(iss, self._session)
        if purpose == "backend":
            config.validate_for_backend()
        else:
            config.validate_for_launch()
        with self._lock:
            self._entries[key] = (now + self._ttl, config)
        return config

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def pinned(self, config: SmartConfiguration) -> ConfigurationCache:
        """This cache, except that ``config`` answers for its FHIR base without a fetch.

        A sign-in started from a configuration kept at registration uses this.
        """
        return _PinnedConfiguration(self, config)


class _PinnedConfiguration(ConfigurationCache):
    """One kept configuration in front of a :class:`ConfigurationCache`."""

    def __init__(self, inner: ConfigurationCache, config: SmartConfiguration) -> None:
        super().__init__(inner._session, inner._ttl)  # noqa: SLF001  (same class family)
        self._inner = inner
        self._config = config

    def get(self, iss: str, *, purpose: str = "launch") -> SmartConfiguration:
        if purpose == "launch" and iss.rstrip("/") == self._config.fhir_base:
            return self._config
        return self._inner.get(iss, purpose=purpose)

    def clear(self) -> None:
        self._inner.clear()
