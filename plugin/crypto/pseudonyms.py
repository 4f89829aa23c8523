# SPDX-License-Identifier: Apache-2.0
"""Keyed pseudonyms: the only form in which a patient identity reaches the database.

``pseudonym = hex(HMAC-SHA256(K, tenant | patient reference))`` with ``K`` an HMAC key held by
the key provider.  Without ``K`` (an HSM object, or the key file kept apart from the database)
a stolen database cannot be joined back to patients by hashing candidate references.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .interfaces import KeyProvider
from .interfaces import KeyProviderError

__all__ = ["PSEUDONYM_LABEL", "Pseudonymizer"]

PSEUDONYM_LABEL = "q/pseudonym"


class Pseudonymizer:
    """Computes and caches keyed pseudonyms.

    :param provider: holds the HMAC key.
    :param label: the HMAC key's label; created on first use when missing.
    :param cache_size: how many pseudonyms to keep in the LRU cache.
    """

    def __init__(
        self, provider: KeyProvider, label: str = PSEUDONYM_LABEL, *, cache_size: int = 4096
    ) -> None:
        self.provider = provider
        self.label = label
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()
        self._ready = False

    def _ensure_key(self) -> None:
        if self._ready:
            return
        if not self.provider.has_key(self.label):
            try:
                self.provider.create_key(self.label, "hmac")
            except KeyProviderError:
                if not self.provider.has_key(self.label):  # not a lost creation race
                    raise
        self._ready = True

    def pseudonym(self, tenant: str, patient_reference: str) -> str:
        """The 64-hex-digit pseudonym of ``patient_reference`` within ``tenant``.

        :param tenant: the tenant id (may not contain ``|``).
        :param patient_reference: the FHIR reference, for example ``Patient/123``.
        :raises ValueError: for a tenant containing ``|`` (it would make inputs ambiguous).
        :raises KeyProviderError: when the provider refuses.
        """
        if "|" in tenant:
            raise ValueError("A tenant id may not contain '|'.")
        key = (tenant, patient_reference)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        self._ensure_key()
        value = self.provider.derive(self.label, f"{tenant}|{patient_reference}".encode()).hex()
        with self._lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget cached pseudonyms (after the HMAC key was replaced)."""
        with self._lock:
            self._cache.clear()
            self._ready = False
