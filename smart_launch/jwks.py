# SPDX-License-Identifier: Apache-2.0
"""One cache of JSON Web Key Sets, keyed by URL (RFC 7517 section 5).

Used for the EHR's id_token keys (``jwks_uri``) and for CDS Hooks ``jku`` key sets.  A set is
kept for ``ttl`` seconds.  A caller that met an unknown ``kid`` may ask for a refetch (key
rotation), but the same URL is fetched at most once per ``min_refetch`` seconds, whether the
last fetch succeeded or failed, so a stream of tokens with made-up ``kid`` values cannot turn
Quietline into a load generator against the EHR.  At most ``max_urls`` sets are kept (the
least recently used goes first).  Bodies are read through :func:`smart_launch.http.get_bounded`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import OctKey

from .errors import SmartLaunchError
from .errors import UpstreamUnavailable
from .http import MAX_DOCUMENT_BYTES
from .http import ResponseTooLarge
from .http import get_bounded

__all__ = ["KeySetCache", "KeySetError"]


class KeySetError(SmartLaunchError):
    """The EHR's key set could not be fetched or is not a usable JWK Set."""

    error = "invalid_key_set"
    description = "The EHR's signing keys could not be read."
    status_code = 502


@dataclass(frozen=True)
class _Entry:
    attempted_at: float
    fetched_at: float
    keys: KeySet | None


class KeySetCache:
    """Signing keys by key-set URL, with a TTL, a refetch interval and a size bound.

    Fetches are serialised, so many callers arriving at once cause one request.

    :param session: from :func:`smart_launch.http.make_session`.
    :param ttl: seconds a fetched set is used without asking again.
    :param min_refetch: the shortest time between two fetches of the same URL.
    :param max_urls: how many sets are kept.
    :param timeout: ``(connect, read)`` seconds for one fetch; the session's when ``None``.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        ttl: float = 300.0,
        min_refetch: float = 10.0,
        max_urls: int = 64,
        timeout: tuple[float, float] | None = None,
        limit: int = MAX_DOCUMENT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._max_urls = max_urls
        self._timeout = timeout
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, url: str) -> KeySet:
        """The set at ``url``, fetched when it is not cached or older than the TTL.

        :raises UpstreamUnavailable: when the URL cannot be reached.
        :raises KeySetError: when the answer is not a usable key set.
        """
        return self._load(url, force=False)

    def refetch(self, url: str) -> KeySet:
        """Fetch the set at ``url`` again, unless it was fetched less than ``min_refetch`` ago
        (then the cached set is returned)."""
        return self._load(url, force=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _load(self, url: str, *, force: bool) -> KeySet:
        with self._lock:
            entry = self._entries.get(url)
            now = self._clock()
            if entry is not None:
                self._entries.move_to_end(url)
                fresh = now - entry.fetched_at < self._ttl
                if entry.keys is not None and fresh and not force:
                    return entry.keys
                if now - entry.attempted_at < self._min_refetch:
                    if entry.keys is not None:
                        return entry.keys
                    raise KeySetError
            previous = entry or _Entry(now, now, None)
            self._remember(url, _Entry(now, previous.fetched_at, previous.keys))
            keys = self._fetch(url)
            self._remember(url, _Entry(now, now, keys))
            return keys

    def _remember(self, url: str, entry: _Entry) -> None:
        self._entries[url] = entry
        self._entries.move_to_end(url)
        while len(self._entries) > self._max_urls:
            self._entries.popitem(last=False)

    def _fetch(self, url: str) -> KeySet:
        try:
            status, body = get_bounded(self._session, url, limit=self._limit, timeout=self._timeout)
        except ResponseTooLarge as exc:
            raise KeySetError("The EHR's key set is too large to read.") from exc
        except requests.RequestException as exc:
            raise UpstreamUnavailable from exc
        if status != 200:
            raise KeySetError
        try:
            key_set = KeySet.import_key_set(json.loads(body))
        except (ValueError, JoseError, KeyError, TypeError, AttributeError) as exc:
            raise KeySetError("The EHR's key set is not a usable JWK Set.") from exc
        usable: list[Any] = [
            key
            for key in key_set.keys
            if not isinstance(key, OctKey) and key.get("use", "sig") == "sig"
        ]
        return KeySet(usable)
