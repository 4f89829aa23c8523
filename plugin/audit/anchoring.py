# SPDX-License-Identifier: Apache-2.0
"""Write checkpoints of the audit chain, and hold the chain against them when verifying.

:class:`Checkpointer` signs the head of each tenant's chain into a
:class:`~plugin.audit.interfaces.CheckpointSink` (``quietline audit checkpoint`` on a schedule,
or the embedded default's background thread).  :func:`check_checkpoints` and
:func:`compare_with_chain` are the checkpoint half of :func:`~plugin.audit.verify.verify_chain`:
a forged, altered, missing or reordered checkpoint, a chain whose end falls behind a checkpoint
(*truncated*), an empty chain that checkpoints say had entries (*wiped*) and a checkpointed entry
whose MAC changed (*replaced*).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy import func
from sqlalchemy import select

from ..crypto.interfaces import KeyProvider
from ..store import Database
from .checkpoints import ZERO_SIG
from .checkpoints import CheckpointConflict
from .checkpoints import CheckpointRefused
from .checkpoints import CheckpointSigner
from .interfaces import Checkpoint
from .interfaces import CheckpointSink
from .models import AuditEntry
from .models import AuditHead
from .report import Problem
from .report import ProblemKind
from .services import canonical_at
from .services import chain_snapshot

__all__ = [
    "CheckpointOutcome",
    "Checkpointer",
    "check_checkpoints",
    "compare_with_chain",
    "entry_macs",
]

_CHUNK = 500
Status = Literal["written", "unchanged", "refused", "failed"]


@dataclass(frozen=True)
class CheckpointOutcome:
    """What :meth:`Checkpointer.checkpoint_all` did for one tenant."""

    tenant: str
    status: Status
    checkpoint: Checkpoint | None = None


class Checkpointer:
    """Signs each tenant's chain head into the sink when it moved since the last checkpoint."""

    def __init__(
        self,
        db: Database,
        provider: KeyProvider,
        sink: CheckpointSink,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._signer = CheckpointSigner(provider)
        self.sink = sink
        self._clock = clock

    def checkpoint(self, tenant: str) -> Checkpoint | None:
        """Write a checkpoint of ``tenant``'s head; ``None`` when nothing changed since the last.

        :raises CheckpointRefused: when the chain no longer holds the last checkpoint's entry
            (or the last checkpoint is not genuine): signing the chain now would cover that up.
        :raises CheckpointConflict: when another writer keeps appending first.
        """
        for _ in range(3):
            try:
                return self._checkpoint(tenant)
            except CheckpointConflict:
                continue
        raise CheckpointConflict

    def checkpoint_all(self) -> list[CheckpointOutcome]:
        """:meth:`checkpoint` for every tenant with a chain or with checkpoints."""
        with self._db.engine.connect() as conn:
            names = set(conn.execute(select(AuditHead.tenant_id)).scalars())
        return [self.outcome(tenant) for tenant in sorted(names | set(self.sink.tenants()))]

    def outcome(self, tenant: str) -> CheckpointOutcome:
        """:meth:`checkpoint` for ``tenant``, with a refusal or conflict as the outcome."""
        try:
            written = self.checkpoint(tenant)
        except CheckpointRefused:
            return CheckpointOutcome(tenant, "refused")
        except CheckpointConflict:
            return CheckpointOutcome(tenant, "failed")
        return CheckpointOutcome(tenant, "unchanged" if written is None else "written", written)

    def _checkpoint(self, tenant: str) -> Checkpoint | None:
        stored = self.sink.read(tenant)
        last = next((cp for cp in reversed(stored) if cp is not None), None)
        if last is not None and not self._signer.valid(last, tenant):
            raise CheckpointRefused
        with chain_snapshot(self._db) as conn:
            head = conn.execute(
                select(AuditHead.seq, AuditHead.mac).where(AuditHead.tenant_id == tenant)
            ).one_or_none()
            count = select(func.count()).where(AuditEntry.tenant_id == tenant)
            entries = int(conn.execute(count).scalar_one())
            held = entry_macs(conn, tenant, [last.seq]) if last is not None else {}
        if last is not None and (
            head is None or int(head[0]) < last.seq or last.mac not in held.get(last.seq, ())
        ):
            raise CheckpointRefused
        if head is None or (last is not None and (last.seq, last.mac) == (head[0], head[1])):
            return None
        unsigned = Checkpoint(
            tenant=tenant,
            n=1 if last is None else last.n + 1,
            seq=int(head[0]),
            mac=str(head[1]),
            entries=entries,
            at=canonical_at(self._clock()),
            prev=ZERO_SIG if last is None else last.sig,
            sig="",
        )
        checkpoint = replace(unsigned, sig=self._signer.sign(unsigned))
        self.sink.append(checkpoint)
        return checkpoint


def entry_macs(conn: Connection, tenant: str, seqs: Iterable[int]) -> dict[int, set[str]]:
    """The stored MACs at ``seqs`` (a set: an inserted duplicate may share a seq)."""
    wanted = sorted(set(seqs))
    found: dict[int, set[str]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(
            select(AuditEntry.seq, AuditEntry.mac).where(
                AuditEntry.tenant_id == tenant, AuditEntry.seq.in_(chunk)
            )
        )
        for seq, mac in rows:
            found.setdefault(int(seq), set()).add(str(mac))
    return found


def check_checkpoints(
    stored: Sequence[Checkpoint | None], provider: KeyProvider, tenant: str
) -> tuple[list[Checkpoint], list[Problem]]:
    """Check the checkpoint file on its own: signatures, numbering, links, a head that only grows.

    :returns: the genuine checkpoints and the problems found.
    """
    signer = CheckpointSigner(provider)
    genuine: list[Checkpoint] = []
    problems: list[Problem] = []
    expected, prev, where = 1, ZERO_SIG, 0
    highest: Checkpoint | None = None
    for line, cp in enumerate(stored, 1):
        if cp is None or not signer.valid(cp, tenant):
            what = "is not a checkpoint" if cp is None else "does not match its signature"
            problems.append(
                Problem(where, ProblemKind.CHECKPOINT, f"line {line} of the checkpoint file {what}")
            )
            expected, prev = expected + 1, ""  # its place is taken; its signature is unknown
            continue
        where = cp.seq
        if cp.n > expected:
            gap = f"{expected}" if cp.n == expected + 1 else f"{expected}..{cp.n - 1}"
            problems.append(
                Problem(where, ProblemKind.CHECKPOINT, f"checkpoint {gap} is missing (deleted)")
            )
        elif cp.n < expected or (prev and cp.prev != prev):
            problems.append(
                Problem(
                    where,
                    ProblemKind.CHECKPOINT,
                    f"checkpoint {cp.n} (line {line}) is out of order or does not follow "
                    "the one before it",
                )
            )
        if highest is not None and cp.seq < highest.seq:
            problems.append(
                Problem(
                    cp.seq + 1,
                    ProblemKind.TRUNCATED,
                    f"checkpoint {cp.n} recorded seq {cp.seq}, behind checkpoint {highest.n} "
                    f"at seq {highest.seq}: the chain was cut back between them",
                )
            )
        if highest is None or cp.seq >= highest.seq:
            highest = cp
        genuine.append(cp)
        expected, prev = cp.n + 1, cp.sig
    return genuine, problems


def compare_with_chain(
    genuine: Sequence[Checkpoint],
    entries: int,
    head_seq: int | None,
    last_seq: int,
    macs: dict[int, set[str]],
) -> list[Problem]:
    """Hold the chain against the genuine checkpoints.

    :param entries: the number of stored entries; ``last_seq`` the highest stored seq.
    :param macs: the stored MACs at the checkpointed seqs (:func:`entry_macs`).
    """
    if not genuine:
        return []
    top = max(genuine, key=lambda cp: (cp.seq, cp.n))
    if entries == 0 and head_seq is None:
        return [
            Problem(
                1,
                ProblemKind.WIPED,
                f"the chain is empty, but checkpoint {top.n} recorded {top.entries} entries "
                f"up to seq {top.seq}",
            )
        ]
    problems = []
    end = last_seq if head_seq is None else head_seq
    most = max(genuine, key=lambda cp: (cp.entries, cp.n))
    if end < top.seq:
        gone = f"{top.seq}" if end + 1 == top.seq else f"{end + 1}..{top.seq}"
        problems.append(
            Problem(
                end + 1,
                ProblemKind.TRUNCATED,
                f"entry {gone} is gone: the chain ends at seq {end} but checkpoint {top.n} "
                f"recorded seq {top.seq}",
            )
        )
    elif entries < most.entries:
        problems.append(
            Problem(
                last_seq,
                ProblemKind.TRUNCATED,
                f"the chain holds {entries} entries, fewer than the {most.entries} "
                f"checkpoint {most.n} recorded",
            )
        )
    for cp in genuine:
        held = macs.get(cp.seq)
        if cp.seq <= last_seq and held and cp.mac not in held:
            problems.append(
                Problem(
                    cp.seq,
                    ProblemKind.REPLACED,
                    f"entry {cp.seq} is not the entry checkpoint {cp.n} recorded "
                    "(the chain was cut back and written again)",
                )
            )
    return problems
