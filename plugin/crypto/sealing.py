# SPDX-License-Identifier: Apache-2.0
"""AES-256-GCM sealing of small server-side secrets (launch tokens, PKCE verifiers).

A sealed blob is ``version(1) || nonce(12) || ciphertext+tag``.  The associated data binds a blob
to the row it belongs to, so a blob copied onto another row does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import PluginError

__all__ = ["SealError", "Sealer", "lookup_hash"]

_VERSION = b"\x01"
_NONCE = 12


class SealError(PluginError):
    """A sealed value is truncated, tampered with or sealed under another key."""

    error = "seal_error"
    description = "Stored session data could not be read; please launch Quietline again."
    status_code = 401
    relaunch = True


class Sealer:
    """Seals and opens bytes with a 256-bit key derived for one purpose."""

    def __init__(self, key: bytes, purpose: str) -> None:
        derived = hmac.new(key, b"quietline-seal:" + purpose.encode(), hashlib.sha256).digest()
        self._aead = AESGCM(derived)

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, *, aad: bytes) -> bytes:
        """:raises SealError: when the blob does not authenticate."""
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise SealError
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
        except InvalidTag as exc:
            raise SealError from exc


def lookup_hash(value: str) -> str:
    """SHA-256 of a high-entropy random value (state, session id) for use as a lookup key.

    The values hashed here carry at least 128 random bits, so a plain hash is not guessable;
    the database never holds the value itself.
    """
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
