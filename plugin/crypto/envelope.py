# SPDX-License-Identifier: Apache-2.0
"""Envelope encryption of vault records: one AES-256-GCM data key per record.

A record is sealed under a fresh random 32-byte data key (AES-256-GCM, 96-bit random nonce,
128-bit tag) with associated data binding it to its tenant, record id, record type and
pseudonymous patient (:class:`RecordAad`); the data key is wrapped (RFC 3394) under a
key-encryption key held by a :class:`~plugin.crypto.interfaces.KeyProvider`.  Rotation re-wraps
the data key only; the ciphertext never changes.

Data keys live in ``bytearray`` buffers that are zeroed after use.  This is best effort: the
provider's return value, the AES context inside ``cryptography`` and the garbage collector may
hold copies for a while.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property
from typing import cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import PluginError
from .interfaces import KeyDestroyed
from .interfaces import KeyProvider
from .interfaces import KeyProviderError
from .interfaces import KeyProviderUnavailable

__all__ = ["EnvelopeCipher", "RecordAad", "Sealed", "VaultIntegrityError", "as_key"]

_NONCE = 12
_TAG = 16
_AAD_MAGIC = b"quietline-record-aad/v1"


class VaultIntegrityError(PluginError):
    """A vault record failed authentication: tampered, truncated, or opened in the wrong context.

    Nothing is written when this is raised; the stored record is left exactly as it was.
    """

    error = "vault_integrity_error"
    description = (
        "A protected record failed its integrity check (it was altered, truncated or does not "
        "belong here). It was not opened and nothing was changed."
    )
    status_code = 500


@dataclass(frozen=True)
class RecordAad:
    """What a vault record is bound to; a record opened with other values fails.

    :param tenant: the tenant id.
    :param record_id: the record's id.
    :param record_type: for example ``screening`` or ``process_note``.
    :param patient_pseudonym: the keyed pseudonym of the patient (never the identifier).
    """

    tenant: str
    record_id: str
    record_type: str
    patient_pseudonym: str

    def to_bytes(self) -> bytes:
        """Canonical encoding: a magic string, then each field as a 4-byte length and UTF-8.

        Length prefixes make the encoding injective: no two different tuples share bytes.
        """
        return self._encoded

    @cached_property
    def _encoded(self) -> bytes:
        out = bytearray(_AAD_MAGIC)
        for value in (self.tenant, self.record_id, self.record_type, self.patient_pseudonym):
            raw = value.encode("utf-8")
            out += len(raw).to_bytes(4, "big") + raw
        return bytes(out)


@dataclass(frozen=True)
class Sealed:
    """A sealed record as stored: four columns.

    :param kek_label: the provider label the data key is wrapped under.
    :param wrapped_dek: the RFC 3394-wrapped data key (40 bytes).
    :param nonce: the 12-byte GCM nonce.
    :param ciphertext: ciphertext followed by the 16-byte tag.
    """

    kek_label: str
    wrapped_dek: bytes
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"Sealed(kek_label={self.kek_label!r}, ciphertext=<{len(self.ciphertext)} bytes>)"


def _wipe(buffer: bytearray) -> None:
    buffer[:] = bytes(len(buffer))


def as_key(buffer: bytearray) -> bytes:
    """Hand a wipeable buffer to :meth:`KeyProvider.wrap` without an unwipeable ``bytes`` copy.

    Both providers accept any bytes-like key; the Protocol says ``bytes`` and mypy's strict
    mode no longer treats ``bytearray`` as ``bytes``.
    """
    return cast("bytes", buffer)


class EnvelopeCipher:
    """Seals and opens vault records with per-record data keys.

    :param provider: holds the key-encryption keys.
    """

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider

    def seal(self, plaintext: bytes, *, kek_label: str, aad: RecordAad) -> Sealed:
        """Encrypt ``plaintext`` under a fresh data key wrapped by ``kek_label``.

        :param plaintext: the record.
        :param kek_label: the key-encryption key (from :meth:`Keyring.label_for`).
        :param aad: what the record is bound to.
        :raises KeyDestroyed: when ``kek_label`` does not exist.
        :raises KeyProviderUnavailable: when the provider cannot be reached.
        """
        fresh = bytearray(secrets.token_bytes(32 + _NONCE))
        dek, nonce = fresh[:32], bytes(fresh[32:])
        _wipe(fresh)
        try:
            ciphertext = AESGCM(dek).encrypt(nonce, plaintext, aad.to_bytes())
            wrapped = self.provider.wrap(kek_label, as_key(dek))
        finally:
            _wipe(dek)
        return Sealed(kek_label, wrapped, nonce, ciphertext)

    def _unwrap(self, sealed: Sealed) -> bytearray:
        try:
            return bytearray(self.provider.unwrap(sealed.kek_label, sealed.wrapped_dek))
        except (KeyDestroyed, KeyProviderUnavailable):
            raise
        except KeyProviderError as exc:
            raise VaultIntegrityError(
                f"The data key of this record does not authenticate under {sealed.kek_label} "
                "(altered or truncated wrapped key)."
            ) from exc

    def open(self, sealed: Sealed, *, aad: RecordAad) -> bytes:
        """Decrypt a sealed record.

        :param sealed: as returned by :meth:`seal` (or :meth:`rewrap`).
        :param aad: the record's context; must equal the one it was sealed with.
        :raises VaultIntegrityError: for a tampered or truncated ciphertext, nonce or wrapped
            key, or a different ``aad``.
        :raises KeyDestroyed: when the record's key was destroyed (crypto-shredded).
        :raises KeyProviderUnavailable: when the provider cannot be reached.
        """
        if len(sealed.nonce) != _NONCE or len(sealed.ciphertext) < _TAG:
            raise VaultIntegrityError("This record is truncated (nonce or tag missing).")
        dek = self._unwrap(sealed)
        try:
            return AESGCM(dek).decrypt(sealed.nonce, sealed.ciphertext, aad.to_bytes())
        except InvalidTag as exc:
            raise VaultIntegrityError(
                "This record failed authentication: its ciphertext was altered or truncated, "
                "or it does not belong to this tenant, record, type or patient."
            ) from exc
        finally:
            _wipe(dek)

    def rewrap(self, sealed: Sealed, new_label: str) -> Sealed:
        """Re-wrap the data key under ``new_label``; nonce and ciphertext are unchanged.

        :raises VaultIntegrityError: when the wrapped key does not authenticate.
        :raises KeyDestroyed: when either label does not exist.
        """
        dek = self._unwrap(sealed)
        try:
            wrapped = self.provider.wrap(new_label, as_key(dek))
        finally:
            _wipe(dek)
        return Sealed(new_label, wrapped, sealed.nonce, sealed.ciphertext)
