# SPDX-License-Identifier: Apache-2.0
"""``LocalKeyProvider``: key-encryption and MAC keys in a JSON key file (the embedded default).

The file holds ``{"format": 1, "keys": {label: {"kind": "aes"|"hmac", "key": base64}}}`` with
mode 0600.  Every change rewrites it atomically (temporary file in the same folder, fsync,
rename, fsync of the folder) under an exclusive ``fcntl.flock`` on ``<file>.lock``, so several
processes (web workers, the CLI) can share it; each operation re-reads the file when its inode,
size or modification time changed.

Limits, stated plainly: destroying a key removes it from the current file only.  A copy of the
key file in a backup, a snapshot or a deleted disk block still holds it, and with it every record
it wrapped.  Operators must never back the key file up together with the database; an HSM
(:class:`plugin.crypto.pkcs11.HsmKeyProvider`) is the production answer to crypto-shredding.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from .interfaces import KeyDestroyed
from .interfaces import KeyKind
from .interfaces import KeyProviderError
from .interfaces import KeyProviderUnavailable

__all__ = ["LocalKeyProvider", "check_data_key", "check_label"]

_FORMAT = 1
_KINDS = ("aes", "hmac")
_MAX_LABEL = 128


def check_label(label: str) -> None:
    """Refuse labels that are not short printable ASCII without spaces.

    :raises KeyProviderError: for an empty, long, non-ASCII or spaced label.
    """
    if not label or len(label) > _MAX_LABEL or not label.isascii() or not label.isprintable():
        raise KeyProviderError(f"Invalid key label {label!r}.")
    if any(ch.isspace() for ch in label):
        raise KeyProviderError(f"Invalid key label {label!r}.")


def check_data_key(key: bytes) -> None:
    """Data keys are 32 bytes (AES-256).

    :raises KeyProviderError: for any other length.
    """
    if len(key) != 32:
        raise KeyProviderError("A data key must be 32 bytes.")


_RECHECK = 0.5
"""Seconds a known key is used before the file is checked for changes again."""


class LocalKeyProvider:
    """Keys in a mode-0600 JSON file; thread- and process-safe.

    :param path: the key file; created (mode 0600) when absent.
    :param recheck: seconds a known key is used before the file is checked for changes.
    :param clock: monotonic seconds (tests inject one).
    :raises KeyProviderUnavailable: when the file is readable by group or others, is not valid
        JSON of the expected shape, or cannot be read or created.
    """

    name = "local"

    def __init__(
        self,
        path: Path,
        *,
        recheck: float = _RECHECK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._recheck = recheck
        self._clock = clock
        self._path_str = str(self.path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._mutex = threading.RLock()
        self._keys: dict[str, tuple[KeyKind, bytes]] = {}
        self._stamp: tuple[int, int, int, int] | None = None
        self._checked_at = 0.0
        with self._mutex, self._file_lock():
            if not self.path.exists():
                self._write({})
            self._refresh()

    def __repr__(self) -> str:
        return f"LocalKeyProvider({str(self.path)!r})"

    # -- file handling -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise KeyProviderUnavailable(
                f"Cannot open the key file lock {self._lock_path}: {exc.strerror}."
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _stat(self) -> os.stat_result:
        try:
            return os.stat(self._path_str)  # noqa: PTH116 - a str path stats faster (hot path)
        except OSError as exc:
            raise KeyProviderUnavailable(
                f"The key file {self.path} cannot be read: {exc.strerror}."
            ) from exc

    def _refresh(self) -> None:
        """Re-read the file when it changed since the last read (another process wrote it)."""
        st = self._stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if stamp == self._stamp:
            return
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyProviderUnavailable(
                f"The key file {self.path} is accessible by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); run `chmod 600 {self.path}`."
            )
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._keys = _parse(raw)
        except OSError as exc:
            raise KeyProviderUnavailable(
                f"The key file {self.path} cannot be read: {exc.strerror}."
            ) from exc
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise KeyProviderUnavailable(
                f"The key file {self.path} is not a valid key file."
            ) from exc
        self._stamp = stamp

    def _write(self, keys: dict[str, tuple[KeyKind, bytes]]) -> None:
        body = {
            "format": _FORMAT,
            "keys": {
                label: {"kind": kind, "key": base64.b64encode(key).decode("ascii")}
                for label, (kind, key) in sorted(keys.items())
            },
        }
        data = json.dumps(body, indent=1).encode("utf-8")
        folder = self.path.parent
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.")  # mode 0600
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(tmp).replace(self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise KeyProviderUnavailable(
                f"The key file {self.path} cannot be written: {exc.strerror}."
            ) from exc
        self._keys = dict(keys)
        self._stamp = None

    def _get(self, label: str, kind: KeyKind) -> bytes:
        # Hot path: a key already known is used without a stat() for up to _RECHECK seconds;
        # an unknown label always re-reads (another process may just have created it).  A key
        # destroyed by another process stops working here within _RECHECK; the vault removes a
        # record's row before destroying its key, so nothing readable remains meanwhile.
        with self._mutex:
            now = self._clock()
            entry = self._keys.get(label)
            if entry is None or now - self._checked_at >= self._recheck:
                self._refresh()
                self._checked_at = now
                entry = self._keys.get(label)
        if entry is None:
            raise KeyDestroyed(f"Key {label} does not exist (destroyed or never created).")
        if entry[0] != kind:
            raise KeyProviderError(f"Key {label} is an {entry[0]} key, not an {kind} key.")
        return entry[1]

    # -- KeyProvider ---------------------------------------------------------------------------

    def check(self) -> None:
        """Prove the key file is readable, private and writable, and that key wrap works.

        :raises KeyProviderUnavailable: when it is not.
        """
        with self._mutex:
            self._refresh()
        if not os.access(self.path.parent, os.W_OK) or not os.access(self.path, os.W_OK):
            raise KeyProviderUnavailable(f"The key file {self.path} is not writable.")
        kek, key = secrets.token_bytes(32), secrets.token_bytes(32)
        if aes_key_unwrap(kek, aes_key_wrap(kek, key)) != key:  # pragma: no cover - library bug
            raise KeyProviderUnavailable("AES key wrap does not round-trip.")

    def create_key(self, label: str, kind: KeyKind = "aes") -> None:
        """Create a random 256-bit key.

        :param label: the key's name.
        :param kind: ``"aes"`` (wrap/unwrap) or ``"hmac"`` (derive).
        :raises KeyProviderError: when ``label`` exists, or for a bad label or kind.
        """
        check_label(label)
        if kind not in _KINDS:
            raise KeyProviderError(f"Unknown key kind {kind!r}.")
        with self._mutex, self._file_lock():
            self._stamp = None  # under the lock, always read the newest file
            self._refresh()
            if label in self._keys:
                raise KeyProviderError(f"Key {label} already exists.")
            self._write({**self._keys, label: (kind, secrets.token_bytes(32))})

    def has_key(self, label: str) -> bool:
        """:param label: the key's name.  :returns: whether it exists."""
        with self._mutex:
            self._refresh()
            return label in self._keys

    def labels(self, prefix: str = "") -> list[str]:
        """:param prefix: filter.  :returns: every live label starting with ``prefix``, sorted."""
        with self._mutex:
            self._refresh()
            return sorted(label for label in self._keys if label.startswith(prefix))

    def destroy_key(self, label: str) -> None:
        """Remove ``label`` from the key file (a missing label is not an error).

        :param label: the key's name.
        """
        with self._mutex, self._file_lock():
            self._stamp = None
            self._refresh()
            if label in self._keys:
                self._write({k: v for k, v in self._keys.items() if k != label})

    def wrap(self, label: str, key: bytes) -> bytes:
        """RFC 3394 AES key wrap of a 32-byte data key.

        :raises KeyDestroyed: when ``label`` does not exist.
        :raises KeyProviderError: for an HMAC key or a key that is not 32 bytes.
        """
        check_data_key(key)
        return aes_key_wrap(self._get(label, "aes"), key)

    def unwrap(self, label: str, wrapped: bytes) -> bytes:
        """Undo :meth:`wrap`.

        :raises KeyDestroyed: when ``label`` does not exist.
        :raises KeyProviderError: when ``wrapped`` does not authenticate under ``label``.
        """
        kek = self._get(label, "aes")
        try:
            key = aes_key_unwrap(kek, bytes(wrapped))
        except (InvalidUnwrap, ValueError) as exc:
            raise KeyProviderError(f"Wrapped key does not authenticate under {label}.") from exc
        check_data_key(key)
        return key

    def derive(self, label: str, context: bytes) -> bytes:
        """HMAC-SHA256 of ``context`` under the HMAC key ``label``.

        :raises KeyDestroyed: when ``label`` does not exist.
        :raises KeyProviderError: for an AES key.
        """
        return hmac.new(self._get(label, "hmac"), bytes(context), hashlib.sha256).digest()


def _parse(raw: Any) -> dict[str, tuple[KeyKind, bytes]]:
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
        raise ValueError("unknown key file format")
    keys: dict[str, tuple[KeyKind, bytes]] = {}
    for label, entry in raw["keys"].items():
        kind = entry["kind"]
        key = base64.b64decode(entry["key"], validate=True)
        if kind not in _KINDS or len(key) != 32:
            raise ValueError("bad key entry")
        keys[str(label)] = ("aes" if kind == "aes" else "hmac", key)
    return keys
