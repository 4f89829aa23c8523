# SPDX-License-Identifier: Apache-2.0
"""The key provider seam: where key-encryption keys and MAC keys live.

Keys never leave a provider in the clear except what :meth:`KeyProvider.derive` returns (a
per-purpose 32-byte value computed inside the provider).  Implementations: ``LocalKeyProvider``
(a key file, mode 0600, for the embedded default) and ``HsmKeyProvider`` (PKCS#11).
"""

from __future__ import annotations

from typing import Literal
from typing import Protocol

from ..errors import PluginError

__all__ = [
    "KeyDestroyed",
    "KeyKind",
    "KeyProvider",
    "KeyProviderError",
    "KeyProviderUnavailable",
    "WrappedKeyStore",
]

KeyKind = Literal["aes", "hmac"]


class KeyProviderError(PluginError):
    """The provider refused an operation (bad wrapped data, wrong kind of key, bad label)."""

    error = "key_provider_error"
    description = "A protected record could not be opened. Nothing was changed."
    status_code = 500


class KeyProviderUnavailable(KeyProviderError):
    """The provider cannot be reached or is misconfigured (HSM down, wrong PIN, no key file)."""

    error = "key_provider_unavailable"
    description = "Quietline's key store is not reachable. Protected records cannot be opened now."
    status_code = 503


class KeyDestroyed(KeyProviderError):
    """The key was destroyed: everything wrapped under it is unrecoverable (crypto-shredded)."""

    error = "key_destroyed"
    description = "This record was destroyed and can no longer be opened."
    status_code = 410


class KeyProvider(Protocol):
    """Holds named keys.  Labels are ASCII strings such as ``q/<tenant>/p/2031-05/v1``."""

    name: str

    def check(self) -> None:
        """Prove the provider works (open a session, use a key).

        :raises KeyProviderUnavailable: when it does not.
        """

    def create_key(self, label: str, kind: KeyKind = "aes") -> None:
        """Create a new random 256-bit key under ``label`` inside the provider.

        :raises KeyProviderError: when ``label`` already exists.
        """

    def has_key(self, label: str) -> bool:
        """Whether ``label`` exists (and was not destroyed)."""

    def labels(self, prefix: str = "") -> list[str]:
        """Every live label starting with ``prefix``, sorted."""

    def destroy_key(self, label: str) -> None:
        """Irreversibly destroy ``label``; a missing label is not an error."""

    def wrap(self, label: str, key: bytes) -> bytes:
        """Wrap a 32-byte data key under the AES key ``label`` (RFC 3394 AES key wrap).

        :raises KeyDestroyed: when ``label`` does not exist.
        """

    def unwrap(self, label: str, wrapped: bytes) -> bytes:
        """Unwrap a data key wrapped by :meth:`wrap`.

        :raises KeyDestroyed: when ``label`` does not exist.
        :raises KeyProviderError: when ``wrapped`` does not authenticate under ``label``.
        """

    def derive(self, label: str, context: bytes) -> bytes:
        """HMAC-SHA256 of ``context`` under the HMAC key ``label``; 32 bytes.

        Used for keyed pseudonyms, the audit chain key and peppers, each with its own label.

        :raises KeyDestroyed: when ``label`` does not exist.
        """


class WrappedKeyStore(Protocol):
    """A table holding data keys wrapped under provider keys (the vault, the outbox).

    Key rotation and crypto-shredding walk every store to re-wrap the data keys that sit under
    a label before that label is destroyed.
    """

    def wrapped_keys(self, label: str) -> list[tuple[str, bytes]]:
        """``(row id, wrapped data key)`` for every live row wrapped under ``label``."""

    def replace_wrapped_key(
        self, row_id: str, old_label: str, new_label: str, wrapped: bytes
    ) -> bool:
        """Atomically swap the wrapped key of ``row_id`` if it is still under ``old_label``.

        :returns: False when the row changed or vanished meanwhile (nothing written).
        """
