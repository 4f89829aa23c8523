# SPDX-License-Identifier: Apache-2.0
"""Rate limits on starting a sign-in (``/launch`` and ``/standalone``).

Each start writes a pending-state row, so unauthenticated starts are limited twice:

- here, a per-process token bucket per client address and one for all clients together.  It is
  cheap (no database round trip) and stops one client from flooding a replica; with ``N``
  replicas the effective limits are ``N`` times these;
- in the database, a cap on pending states per browser binding and in total
  (:class:`~plugin.launch.store.SqlLaunchStateStore`), which replicas share.  Beyond either cap
  nothing is written.

Memory is bounded: at most ``max_clients`` per-client buckets are kept, least recently used
first out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .errors import SignInBusy
from .errors import TooManySignIns

__all__ = ["LaunchRateLimiter", "TokenBucket"]


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class LaunchRateLimiter:
    """Allows a sign-in start, or raises :class:`TooManySignIns` / :class:`SignInBusy`."""

    def __init__(
        self,
        *,
        per_client_burst: int = 20,
        per_client_rate: float = 0.5,
        total_burst: int = 200,
        total_rate: float = 20.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_client = (float(per_client_burst), per_client_rate)
        self._clock = clock
        self._total = TokenBucket(float(total_burst), total_rate, float(total_burst), clock())
        self._clients: OrderedDict[str, TokenBucket] = OrderedDict()
        self._max_clients = max_clients
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Take one token for ``client`` (its address) and one from the shared bucket.

        :raises TooManySignIns: this client started too many sign-ins (429).
        :raises SignInBusy: too many sign-ins are starting overall (503).
        """
        now = self._clock()
        with self._lock:
            bucket = self._clients.pop(client, None)
            if bucket is None:
                capacity, rate = self._per_client
                bucket = TokenBucket(capacity, rate, capacity, now)
            self._clients[client] = bucket
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
            if not bucket.take(now):
                raise TooManySignIns
            if not self._total.take(now):
                raise SignInBusy
