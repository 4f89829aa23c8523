# SPDX-License-Identifier: Apache-2.0
"""Client public keys for ``private_key_jwt``: inline ``jwks`` or a ``jwks_uri`` fetched over HTTP.

SMART App Launch 2.2, "Client Authentication: Asymmetric": the server "SHALL ... retrieve the
client's JWK Set from the registered jwks_uri" and may cache it; a fetched set is kept for
:data:`JWKS_CACHE_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from smart_launch.http import make_session

if TYPE_CHECKING:
    from .config import ClientRegistration

__all__ = ["JWKS_CACHE_SECONDS", "JWKS_TIMEOUT", "JwksCache", "JwksUnavailable"]

JWKS_CACHE_SECONDS = 60.0
JWKS_TIMEOUT: tuple[float, float] = (2.0, 3.0)


class JwksUnavailable(Exception):
    """The client's key set could not be obtained or parsed."""


class JwksCache:
    """Resolves a client's public :class:`KeySet`, caching fetched sets per URI."""

    def __init__(self, session: requests.Session | None = None) -> None:
        self._session = session or make_session(JWKS_TIMEOUT, pool_maxsize=4)
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, KeySet]] = {}

    def key_set(self, client: ClientRegistration) -> KeySet:
        """The public keys registered for ``client`` (inline set first, then ``jwks_uri``).

        :raises JwksUnavailable: when neither yields a usable key set.
        """
        if client.jwks is not None:
            return self._parse(client.jwks, client.client_id)
        if client.jwks_uri is None:
            raise JwksUnavailable(f"Client {client.client_id} has no registered keys.")
        return self._fetch(client.jwks_uri, client.client_id)

    def _fetch(self, uri: str, client_id: str) -> KeySet:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(uri)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = self._session.get(
                uri, headers={"Accept": "application/json"}, allow_redirects=False
            )
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise JwksUnavailable(f"The JWKS of client {client_id} could not be fetched.") from exc
        key_set = self._parse(data, client_id)
        with self._lock:
            self._entries[uri] = (now + JWKS_CACHE_SECONDS, key_set)
        return key_set

    @staticmethod
    def _parse(data: Any, client_id: str) -> KeySet:
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise JwksUnavailable(f"The JWKS of client {client_id} is not a key set.")
        try:
            return KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise JwksUnavailable(f"The JWKS of client {client_id} is malformed.") from exc

    def clear(self) -> None:
        """Forget every fetched key set."""
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()
