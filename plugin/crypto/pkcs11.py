# SPDX-License-Identifier: Apache-2.0
"""``HsmKeyProvider``: keys held in a PKCS#11 token (an HSM; SoftHSM2 in tests).

Spec: PKCS#11 v2.40 (https://docs.oasis-open.org/pkcs11/pkcs11-base/v2.40/).

- Key-encryption keys are ``CKK_AES`` token objects, ``CKA_SENSITIVE`` and not
  ``CKA_EXTRACTABLE``, usable only for ``CKA_WRAP``/``CKA_UNWRAP``.  A data key is imported as a
  session object and wrapped with ``C_WrapKey`` and ``CKM_AES_KEY_WRAP`` (RFC 3394), so the
  wrapped form is byte-compatible with :class:`~plugin.crypto.local.LocalKeyProvider`.  SoftHSM2
  2.6 supports ``CKM_AES_KEY_WRAP`` for ``C_WrapKey``/``C_UnwrapKey`` but not for ``C_Encrypt``.
- MAC keys are ``CKK_GENERIC_SECRET`` token objects used with ``CKM_SHA256_HMAC`` signing.
- Destroying a key destroys the token object.

PKCS#11 login state belongs to the process, and python-pkcs11 sessions are not thread-safe, so
every provider for one token in a process shares one logged-in session behind one lock.  A
session the token dropped (HSM restart) is reopened once before the operation fails with
:class:`KeyProviderUnavailable`.  No ``PKCS11Error`` leaves this module.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Any
from typing import TypeVar

import pkcs11
from pkcs11 import Attribute
from pkcs11 import KeyType
from pkcs11 import Mechanism
from pkcs11 import ObjectClass
from pkcs11 import exceptions as p11

from .interfaces import KeyDestroyed
from .interfaces import KeyKind
from .interfaces import KeyProviderError
from .interfaces import KeyProviderUnavailable
from .local import check_data_key
from .local import check_label

__all__ = ["HsmKeyProvider"]

T = TypeVar("T")

_TYPES: dict[KeyKind, Any] = {"aes": KeyType.AES, "hmac": KeyType.GENERIC_SECRET}
_LOST = (
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.DeviceRemoved,
    p11.DeviceError,
    p11.TokenNotPresent,
    p11.UserNotLoggedIn,
)
_UNAUTHENTIC = (
    p11.GeneralError,
    p11.WrappedKeyInvalid,
    p11.WrappedKeyLenRange,
    p11.EncryptedDataInvalid,
    p11.EncryptedDataLenRange,
    p11.DataInvalid,
    p11.DataLenRange,
)


class _Connection:
    """One logged-in session per (library, token) per process."""

    def __init__(self, library: str, token_label: str, pin: str) -> None:
        self.library, self.token_label, self.pin = library, token_label, pin
        self.lock = threading.Lock()
        self.refs = 0
        self.session: Any = None

    def open(self) -> Any:
        if self.session is not None:
            return self.session
        where = f"token {self.token_label!r} in {self.library}"
        try:
            token = pkcs11.lib(self.library).get_token(token_label=self.token_label)
            self.session = token.open(rw=True, user_pin=self.pin)
        except p11.NoSuchToken as exc:
            raise KeyProviderUnavailable(f"The HSM has no {where}.") from exc
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange) as exc:
            raise KeyProviderUnavailable(f"The HSM refused the PIN for {where}.") from exc
        except p11.PinLocked as exc:
            raise KeyProviderUnavailable(f"The PIN of {where} is locked.") from exc
        except p11.PKCS11Error as exc:
            raise KeyProviderUnavailable(f"Cannot open {where}: {exc!r}.") from exc
        return self.session

    def drop(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            with contextlib.suppress(p11.PKCS11Error):  # gone already: nothing to release
                session.close()


_registry: dict[tuple[str, str], _Connection] = {}
_registry_lock = threading.Lock()


class HsmKeyProvider:
    """Keys in a PKCS#11 token.

    :param library: path of the PKCS#11 module (``/usr/lib/softhsm/libsofthsm2.so``).
    :param token_label: the token's label.
    :param pin: the user PIN.
    :raises KeyProviderUnavailable: when the library cannot be loaded, the token does not
        exist or the PIN is refused.
    """

    name = "pkcs11"

    def __init__(self, library: str, token_label: str, pin: str) -> None:
        self.library, self.token_label = library, token_label
        with _registry_lock:
            conn = _registry.get((library, token_label))
            if conn is None:
                conn = _Connection(library, token_label, pin)
            elif not hmac.compare_digest(conn.pin.encode(), pin.encode()):
                raise KeyProviderUnavailable(
                    f"The HSM refused the PIN for token {token_label!r} in {library}."
                )
            with conn.lock:
                conn.open()
            conn.refs += 1
            _registry[(library, token_label)] = conn
        self._conn: _Connection | None = conn

    def __repr__(self) -> str:
        return f"HsmKeyProvider({self.library!r}, {self.token_label!r})"

    def close(self) -> None:
        """Release the shared session; the last provider of a token closes it and logs out."""
        with _registry_lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            conn.refs -= 1
            if conn.refs == 0:
                del _registry[(conn.library, conn.token_label)]
                with conn.lock:
                    conn.drop()

    def _run(self, what: str, operation: Callable[[Any], T]) -> T:
        conn = self._conn
        if conn is None:
            raise KeyProviderUnavailable("This HSM key provider was closed.")
        with conn.lock:
            for attempt in range(2):
                session = conn.open()
                try:
                    return operation(session)
                except _LOST as exc:
                    conn.drop()
                    if attempt:
                        raise KeyProviderUnavailable(
                            f"The HSM session was lost while trying to {what} ({exc!r})."
                        ) from exc
                except p11.PKCS11Error as exc:
                    if "not initialized" in str(exc) and not attempt:
                        conn.drop()  # the library was finalized under us: start again
                        continue
                    raise KeyProviderError(f"The HSM refused to {what} ({exc!r}).") from exc
        raise KeyProviderUnavailable(f"The HSM is not usable to {what}.")  # pragma: no cover

    @staticmethod
    def _find(session: Any, label: str) -> list[Any]:
        return list(
            session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label})
        )

    def _key(self, session: Any, label: str, kind: KeyKind) -> Any:
        found = self._find(session, label)
        if not found:
            raise KeyDestroyed(f"Key {label} does not exist (destroyed or never created).")
        if len(found) > 1:
            raise KeyProviderError(f"The HSM holds {len(found)} keys labelled {label}.")
        key = found[0]
        if key[Attribute.KEY_TYPE] != _TYPES[kind]:
            raise KeyProviderError(f"Key {label} is not an {kind} key.")
        return key

    # -- KeyProvider ---------------------------------------------------------------------------

    def check(self) -> None:
        """Wrap and unwrap a random key under a temporary session key.

        :raises KeyProviderUnavailable: when the round trip fails.
        """

        def round_trip(session: Any) -> bool:
            kek = session.generate_key(KeyType.AES, 256, store=False)
            try:
                data = secrets.token_bytes(32)
                return _unwrap(kek, _wrap(session, kek, data)) == data
            finally:
                kek.destroy()

        try:
            ok = self._run("check the HSM", round_trip)
        except KeyProviderUnavailable:
            raise
        except KeyProviderError as exc:
            raise KeyProviderUnavailable(exc.description) from exc
        if not ok:
            raise KeyProviderUnavailable("The HSM does not round-trip AES key wrap.")

    def create_key(self, label: str, kind: KeyKind = "aes") -> None:
        """Generate a 256-bit token key.

        :param label: the key's name (``CKA_LABEL``).
        :param kind: ``"aes"`` (wrap/unwrap only) or ``"hmac"`` (sign only).
        :raises KeyProviderError: when ``label`` exists, or for a bad label or kind.
        """
        check_label(label)
        if kind not in _TYPES:
            raise KeyProviderError(f"Unknown key kind {kind!r}.")
        usage = {
            Attribute.WRAP: kind == "aes",
            Attribute.UNWRAP: kind == "aes",
            Attribute.SIGN: kind == "hmac",
            Attribute.ENCRYPT: False,
            Attribute.DECRYPT: False,
            Attribute.VERIFY: False,
        }
        template = {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            **usage,
        }

        def create(session: Any) -> None:
            if self._find(session, label):
                raise KeyProviderError(f"Key {label} already exists.")
            session.generate_key(_TYPES[kind], 256, label=label, store=True, template=template)

        self._run(f"create key {label}", create)

    def has_key(self, label: str) -> bool:
        """:param label: the key's name.  :returns: whether the token holds it."""
        return self._run(f"look up key {label}", lambda s: bool(self._find(s, label)))

    def labels(self, prefix: str = "") -> list[str]:
        """:param prefix: filter.  :returns: every token key label starting with it, sorted."""

        def collect(session: Any) -> list[str]:
            query = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.TOKEN: True}
            return sorted({str(o.label) for o in session.get_objects(query)})

        return [label for label in self._run("list keys", collect) if label.startswith(prefix)]

    def destroy_key(self, label: str) -> None:
        """Destroy the token object(s) labelled ``label``; a missing label is not an error."""

        def destroy(session: Any) -> None:
            for key in self._find(session, label):
                key.destroy()

        self._run(f"destroy key {label}", destroy)

    def wrap(self, label: str, key: bytes) -> bytes:
        """``C_WrapKey`` with ``CKM_AES_KEY_WRAP`` (RFC 3394).

        :raises KeyDestroyed: when ``label`` does not exist.
        :raises KeyProviderError: for an HMAC key or a key that is not 32 bytes.
        """
        check_data_key(key)
        return self._run(f"wrap under {label}", lambda s: _wrap(s, self._key(s, label, "aes"), key))

    def unwrap(self, label: str, wrapped: bytes) -> bytes:
        """``C_UnwrapKey`` with ``CKM_AES_KEY_WRAP`` into a session object, then read its value.

        :raises KeyDestroyed: when ``label`` does not exist.
        :raises KeyProviderError: when ``wrapped`` does not authenticate under ``label``.
        """

        def unwrap(session: Any) -> bytes:
            kek = self._key(session, label, "aes")
            try:
                return _unwrap(kek, bytes(wrapped))
            except _UNAUTHENTIC as exc:
                raise KeyProviderError(f"Wrapped key does not authenticate under {label}.") from exc

        key = self._run(f"unwrap under {label}", unwrap)
        check_data_key(key)
        return key

    def derive(self, label: str, context: bytes) -> bytes:
        """``CKM_SHA256_HMAC`` of ``context`` under the HMAC key ``label``.

        :raises KeyDestroyed: when ``label`` does not exist.
        :raises KeyProviderError: for an AES key.
        """

        def sign(session: Any) -> bytes:
            key = self._key(session, label, "hmac")
            return bytes(key.sign(bytes(context), mechanism=Mechanism.SHA256_HMAC))

        return self._run(f"derive with {label}", sign)


def _wrap(session: Any, kek: Any, data: bytes) -> bytes:
    dek = session.create_object(
        {
            Attribute.CLASS: ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: KeyType.AES,
            Attribute.TOKEN: False,
            Attribute.VALUE: bytes(data),
            Attribute.EXTRACTABLE: True,
            Attribute.SENSITIVE: False,
        }
    )
    try:
        return bytes(kek.wrap_key(dek, mechanism=Mechanism.AES_KEY_WRAP))
    finally:
        dek.destroy()


def _unwrap(kek: Any, wrapped: bytes) -> bytes:
    dek = kek.unwrap_key(
        ObjectClass.SECRET_KEY,
        KeyType.AES,
        wrapped,
        mechanism=Mechanism.AES_KEY_WRAP,
        store=False,
        template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
    )
    try:
        return bytes(dek[Attribute.VALUE])
    finally:
        dek.destroy()
