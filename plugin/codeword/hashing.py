# SPDX-License-Identifier: Apache-2.0
"""Storing a code word so that a copy of the database alone does not allow offline guessing.

``digest = argon2id(salt, HMAC-SHA256(P, "quietline-codeword" | tenant | pseudonym | word))``
where ``P`` is an HMAC key that lives only in the key provider (label :data:`PEPPER_LABEL`,
created on first use) and ``word`` is :func:`normalise`-d.  The HMAC is computed by the
provider (:meth:`~plugin.crypto.interfaces.KeyProvider.derive`), so with an HSM the pepper never
leaves it.  Without ``P`` every guess needs the provider; with ``P`` (a stolen key file as well)
every guess still costs one argon2id evaluation.

The argon2id parameters are stored with each digest, so they can be raised later:
:meth:`WordHasher.needs_rehash` tells the service to re-hash after the next right word.

Default parameters (RFC 9106 section 4, second recommended option, with two lanes instead of
four): ``t=3``, ``m=64 MiB``, ``p=2``.  On the 2-core reference machine one evaluation takes
about 80 ms (``p=1`` would take about 145 ms); see ``bench/codeword.py``.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from collections.abc import Mapping
from typing import Any

from argon2.low_level import ARGON2_VERSION
from argon2.low_level import Type
from argon2.low_level import hash_secret_raw

from ..crypto.interfaces import KeyProvider
from ..crypto.interfaces import KeyProviderError

__all__ = [
    "DEFAULT_MEMORY_COST",
    "DEFAULT_PARALLELISM",
    "DEFAULT_TIME_COST",
    "PEPPER_LABEL",
    "WordHasher",
    "normalise",
]

PEPPER_LABEL = "q/codeword-pepper/v1"
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_COST = 64 * 1024
"""KiB (64 MiB)."""
DEFAULT_PARALLELISM = 2
HASH_LEN = 32
SALT_LEN = 16
_DOMAIN = b"quietline-codeword"
_SEP = b"\x1f"


def normalise(word: str) -> str:
    """The form a word is compared in: NFKC, case-folded, whitespace collapsed and trimmed.

    ``"  Blue   Heron "`` and ``"blue heron"`` are the same word; so are full-width and
    ordinary letters.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", word).casefold())
    return " ".join(folded.split())


class WordHasher:
    """argon2id over a keyed HMAC of the normalised word.

    :param provider: holds the pepper (an HMAC key).
    :param time_cost: argon2id passes.
    :param memory_cost: argon2id memory in KiB.
    :param parallelism: argon2id lanes (and threads).
    :param label: the pepper's key label; created on first use when missing.
    """

    def __init__(
        self,
        provider: KeyProvider,
        *,
        time_cost: int = DEFAULT_TIME_COST,
        memory_cost: int = DEFAULT_MEMORY_COST,
        parallelism: int = DEFAULT_PARALLELISM,
        label: str = PEPPER_LABEL,
    ) -> None:
        self._provider = provider
        self.label = label
        self.params: dict[str, Any] = {
            "type": "argon2id",
            "version": ARGON2_VERSION,
            "time_cost": time_cost,
            "memory_cost": memory_cost,
            "parallelism": parallelism,
            "hash_len": HASH_LEN,
            "pepper": label,
        }
        self._ready = False

    def _ensure_key(self) -> None:
        if self._ready:
            return
        if not self._provider.has_key(self.label):
            try:
                self._provider.create_key(self.label, "hmac")
            except KeyProviderError:
                if not self._provider.has_key(self.label):  # not a lost creation race
                    raise
        self._ready = True

    def _peppered(self, label: str, tenant: str, pseudonym: str, word: str) -> bytes:
        if _SEP.decode() in tenant or _SEP.decode() in pseudonym:
            raise ValueError("A tenant or pseudonym may not contain a unit separator.")
        if label == self.label:
            self._ensure_key()
        context = _SEP.join(
            (_DOMAIN, tenant.encode(), pseudonym.encode(), normalise(word).encode("utf-8"))
        )
        return self._provider.derive(label, context)

    def hash(self, tenant: str, pseudonym: str, word: str) -> tuple[bytes, bytes, dict[str, Any]]:
        """Hash ``word`` for one client with the current parameters and a fresh salt.

        :param tenant: the tenant id.
        :param pseudonym: the client's keyed pseudonym (binds the digest to the client).
        :param word: the word as typed.
        :returns: ``(salt, digest, params)``; store all three.
        :raises KeyProviderError: when the provider refuses.
        """
        salt = secrets.token_bytes(SALT_LEN)
        params = dict(self.params)
        digest = _argon2(self._peppered(self.label, tenant, pseudonym, word), salt, params)
        return salt, digest, params

    def verify(  # noqa: PLR0917  (the stored row's columns, in order)
        self,
        tenant: str,
        pseudonym: str,
        word: str,
        salt: bytes,
        digest: bytes,
        params: Mapping[str, Any],
    ) -> bool:
        """Whether ``word`` is the word behind ``digest`` (constant-time comparison).

        :param params: the parameters stored with ``digest``.
        :raises ValueError: for parameters this hasher does not know (a damaged row).
        :raises KeyProviderError: when the provider refuses (for example a missing pepper).
        """
        label = str(params.get("pepper", ""))
        candidate = _argon2(self._peppered(label, tenant, pseudonym, word), bytes(salt), params)
        return hmac.compare_digest(candidate, bytes(digest))

    def needs_rehash(self, params: Mapping[str, Any]) -> bool:
        """Whether a digest made with ``params`` should be replaced by one with the current ones."""
        return any(params.get(name) != value for name, value in self.params.items())


def _argon2(secret: bytes, salt: bytes, params: Mapping[str, Any]) -> bytes:
    if params.get("type") != "argon2id" or params.get("version") != ARGON2_VERSION:
        raise ValueError("Unsupported code word hash parameters.")
    return hash_secret_raw(
        secret,
        salt,
        time_cost=int(params["time_cost"]),
        memory_cost=int(params["memory_cost"]),
        parallelism=int(params["parallelism"]),
        hash_len=int(params["hash_len"]),
        type=Type.ID,
        version=ARGON2_VERSION,
    )
