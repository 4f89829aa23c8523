# SPDX-License-Identifier: Apache-2.0
"""Signed checkpoints of the audit chain and the append-only file that keeps them.

The chain in SQL proves that no entry was changed, inserted, reordered or removed from the
middle, but someone who can write the database can still cut entries off the end and roll the
head back, or delete everything.  A checkpoint records the head (``seq``, MAC) and the entry
count at a moment, signed with::

    sig = HMAC-SHA256(K_anchor, canonical_json(v, tenant, n, seq, mac, entries, at, prev))

where ``K_anchor = provider.derive("q/audit-anchor", tenant)`` comes from its own provider key,
apart from the chain key.  Checkpoints live outside the database (:class:`FileCheckpointSink`:
one append-only JSON-lines file per tenant, meant for a separate write-once volume), so rolling
the database back leaves them behind as evidence.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.parse import unquote

from ..crypto.interfaces import KeyProvider
from ..errors import PluginError
from .interfaces import Checkpoint
from .services import ChainKeys

__all__ = [
    "ANCHOR_KEY_LABEL",
    "FORMAT_VERSION",
    "ZERO_SIG",
    "AnchorUnavailable",
    "CheckpointConflict",
    "CheckpointError",
    "CheckpointRefused",
    "CheckpointSigner",
    "FileCheckpointSink",
    "checkpoint_body",
    "parse_checkpoint",
    "to_line",
]

ANCHOR_KEY_LABEL = "q/audit-anchor"
FORMAT_VERSION = 1
ZERO_SIG = "0" * 64
_SUFFIX = ".jsonl"
_TAIL = 8192  # a checkpoint line is well under 1 KiB
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


class CheckpointError(PluginError):
    """A checkpoint could not be written."""

    error = "audit_checkpoint_failed"
    description = "The audit checkpoint could not be written. Nothing was changed."
    status_code = 500


class CheckpointConflict(CheckpointError):
    """Another writer appended a checkpoint first; read again and retry."""

    error = "audit_checkpoint_conflict"


class AnchorUnavailable(CheckpointError):
    """The anchor folder cannot be read or written (missing volume, permissions)."""

    error = "audit_anchor_unavailable"
    description = "The audit checkpoint folder cannot be read or written. Check the anchor volume."


class CheckpointRefused(CheckpointError):
    """The chain no longer matches the last checkpoint: signing it would hide the change."""

    error = "audit_checkpoint_refused"
    description = (
        "The audit log no longer matches its last checkpoint, so no new checkpoint was written. "
        "Run the audit check."
    )


def checkpoint_body(cp: Checkpoint) -> bytes:
    fields = [FORMAT_VERSION, cp.tenant, cp.n, cp.seq, cp.mac, cp.entries, cp.at, cp.prev]
    return _ENCODE(fields).encode()


class CheckpointSigner:
    """Signs and checks checkpoints with the per-tenant anchor key."""

    def __init__(self, provider: KeyProvider) -> None:
        self._keys = ChainKeys(provider, ANCHOR_KEY_LABEL)

    def sign(self, cp: Checkpoint) -> str:
        """The hex signature of ``cp`` (its ``sig`` field is ignored)."""
        h = self._keys.base(cp.tenant).copy()
        h.update(checkpoint_body(cp))
        return h.hexdigest()

    def valid(self, cp: Checkpoint, tenant: str) -> bool:
        """Whether ``cp`` belongs to ``tenant`` and carries its own signature."""
        return cp.tenant == tenant and hmac.compare_digest(self.sign(cp), cp.sig)


def to_line(cp: Checkpoint) -> str:
    """``cp`` as one JSON line (sorted keys, no spaces, with the format version)."""
    return _ENCODE(
        {
            "v": FORMAT_VERSION,
            "tenant": cp.tenant,
            "n": cp.n,
            "seq": cp.seq,
            "mac": cp.mac,
            "entries": cp.entries,
            "at": cp.at,
            "prev": cp.prev,
            "sig": cp.sig,
        }
    )


def parse_checkpoint(line: str) -> Checkpoint:
    """The checkpoint on ``line``.

    :raises ValueError: when the line is not a checkpoint of this format.
    """
    raw: Any = json.loads(line)
    if not isinstance(raw, dict) or raw.get("v") != FORMAT_VERSION:
        msg = "not a checkpoint"
        raise ValueError(msg)
    texts = ("tenant", "mac", "at", "prev", "sig")
    numbers = ("n", "seq", "entries")
    if not all(isinstance(raw.get(k), str) for k in texts) or not all(
        type(raw.get(k)) is int for k in numbers
    ):
        msg = "not a checkpoint"
        raise ValueError(msg)
    return Checkpoint(**{k: raw[k] for k in (*texts, *numbers)})


class FileCheckpointSink:
    """:class:`~plugin.audit.interfaces.CheckpointSink` as one JSON-lines file per tenant.

    Files are created with mode 0600 and only ever opened with ``O_APPEND``; an exclusive
    ``flock`` makes the check of the last line and the append one step across processes.
    The folder should be a separate volume the app can append to but not rewrite (see
    ``docs/security.md``).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, tenant: str) -> Path:
        """The tenant's file; the name is the percent-encoded tenant id."""
        return self.folder / (quote(tenant, safe="") + _SUFFIX)

    def append(self, checkpoint: Checkpoint) -> None:
        """Append ``checkpoint`` if the file ends with checkpoint ``n - 1`` signed ``prev``.

        :raises CheckpointConflict: otherwise (nothing is written).
        """
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
            fd = os.open(self.path(checkpoint.tenant), flags, 0o600)
        except OSError as exc:
            raise AnchorUnavailable from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last, complete = _tail(fd)
            expected = (0, ZERO_SIG) if last is None else (last.n, last.sig)
            if expected != (checkpoint.n - 1, checkpoint.prev):
                raise CheckpointConflict
            # A line cut short by a crash stays on its own line (verify reports it).
            line = ("" if complete else "\n") + to_line(checkpoint) + "\n"
            os.write(fd, line.encode())
            os.fsync(fd)
        except OSError as exc:
            raise AnchorUnavailable from exc
        finally:
            os.close(fd)  # closing releases the lock

    def read(self, tenant: str) -> list[Checkpoint | None]:
        """Every line of the tenant's file, parsed; ``None`` for a line that is not one."""
        try:
            text = self.path(tenant).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AnchorUnavailable from exc
        found: list[Checkpoint | None] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                found.append(parse_checkpoint(line))
            except ValueError:
                found.append(None)
        return found

    def tenants(self) -> list[str]:
        """The tenants that have a checkpoint file."""
        try:
            names = [entry.name for entry in os.scandir(self.folder)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AnchorUnavailable from exc
        return sorted(
            unquote(name.removesuffix(_SUFFIX)) for name in names if name.endswith(_SUFFIX)
        )


def _tail(fd: int) -> tuple[Checkpoint | None, bool]:
    """The last readable checkpoint in the open file, and whether the file ends a line."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    start = max(0, size - _TAIL)
    tail = os.pread(fd, size - start, start)
    for line in reversed(tail.decode("utf-8", errors="replace").splitlines()):
        try:
            return parse_checkpoint(line), tail.endswith(b"\n")
        except ValueError:
            continue
    return None, tail.endswith(b"\n")
