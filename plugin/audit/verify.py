# SPDX-License-Identifier: Apache-2.0
"""Verify a tenant's audit chain and say what was tampered with.

One streaming pass in ``seq`` order recomputes every MAC from the stored previous MAC.  A row
whose MAC does not link is set aside (at most :data:`MAX_DIAGNOSED`) and diagnosed afterwards by
trying the other set-aside rows as its true predecessor: a row that links elsewhere was
*reordered* (or *renumbered* after an insertion), a row that others link around was *inserted*,
and a row that links nowhere was *modified*.  Gaps in ``seq`` are *deleted* entries, and the
head row must name the last entry.  Memory stays flat however long the chain is.

Given a :class:`~plugin.audit.interfaces.CheckpointSink`, the chain is also held against the
signed checkpoints kept outside the database (:mod:`plugin.audit.anchoring`): that is what
reveals a tail cut off together with the head, or a chain deleted altogether.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import select
from sqlalchemy import union

from ..crypto.interfaces import KeyProvider
from ..store import Database
from .anchoring import check_checkpoints
from .anchoring import compare_with_chain
from .anchoring import entry_macs
from .interfaces import Checkpoint
from .interfaces import CheckpointSink
from .models import AuditEntry
from .models import AuditHead
from .report import Problem
from .report import ProblemKind
from .report import VerifyReport
from .services import ZERO_MAC
from .services import ChainKeys
from .services import Fields
from .services import Row
from .services import canonical
from .services import chain_rows
from .services import chain_snapshot

__all__ = ["MAX_DIAGNOSED", "Problem", "ProblemKind", "VerifyReport", "verify_all", "verify_chain"]

MAX_DIAGNOSED = 200
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


@dataclass
class _Odd:
    """A row whose MAC does not link to the row stored before it."""

    seq: int
    prev_seq: int
    prev_mac: bytes
    mac: bytes
    fields: Fields
    orig: int | None = None
    via: tuple[str, int] | None = None


@dataclass
class _Scan:
    entries: int = 0
    last_seq: int = 0
    last_mac: bytes = ZERO_MAC
    odd: list[_Odd] = field(default_factory=list)
    undiagnosed: int = 0
    problems: list[Problem] = field(default_factory=list)
    run: list[int] | None = None  # [first seq, last seq, delta] of renumbered rows


def verify_chain(
    db: Database, provider: KeyProvider, tenant: str, anchors: CheckpointSink | None = None
) -> VerifyReport:
    """Verify ``tenant``'s chain in one streaming pass over a consistent snapshot.

    :param anchors: where the signed checkpoints are kept; without it the chain is checked on
        its own, which cannot reveal a truncated tail with a rolled-back head or a wipe.
    :raises KeyProviderError: when the chain or checkpoint key cannot be derived.
    """
    base = ChainKeys(provider).base(tenant)
    # Read the checkpoints before the snapshot: each then names entries the snapshot holds.
    stored: list[Checkpoint | None] = [] if anchors is None else anchors.read(tenant)
    genuine, anchor_problems = check_checkpoints(stored, provider, tenant)
    with chain_snapshot(db) as conn:
        head = conn.execute(
            select(AuditHead.seq, AuditHead.mac).where(AuditHead.tenant_id == tenant)
        ).one_or_none()
        head_seq = None if head is None else int(head[0])
        scan = _walk(chain_rows(conn, tenant), base)
        macs = entry_macs(conn, tenant, (cp.seq for cp in genuine if cp.seq <= scan.last_seq))
    _diagnose(scan, base, head_seq)
    _check_head(scan, head_seq, None if head is None else str(head[1]))
    anchor_problems += compare_with_chain(genuine, scan.entries, head_seq, scan.last_seq, macs)
    problems = sorted([*scan.problems, *anchor_problems], key=lambda p: p.seq)
    return VerifyReport(tenant, scan.entries, head_seq, tuple(problems), len(stored))


def verify_all(
    db: Database, provider: KeyProvider, anchors: CheckpointSink | None = None
) -> list[VerifyReport]:
    """:func:`verify_chain` for every tenant that has entries, a head or checkpoints."""
    tenants = union(select(AuditHead.tenant_id), select(AuditEntry.tenant_id).distinct())
    with db.engine.connect() as conn:
        names = {str(name) for name in conn.execute(tenants).scalars()}
    if anchors is not None:
        names.update(anchors.tenants())
    return [verify_chain(db, provider, name, anchors) for name in sorted(names)]


def _walk(rows: Iterator[Row], base: hmac.HMAC) -> _Scan:
    scan = _Scan()
    prev_seq, prev_mac, count = 0, ZERO_MAC, 0
    copy, encode = base.copy, _ENCODE
    for row in rows:
        seq, at, actor, action, outcome, subject, detail, mac_hex = row
        count += 1
        mac = bytes.fromhex(mac_hex)
        if seq == prev_seq + 1:
            h = copy()
            h.update(prev_mac)
            h.update(encode([seq, at, actor, action, outcome, subject, detail]).encode())
            if h.digest() != mac:
                _mismatch(scan, base, row, (prev_seq, prev_mac))
            else:
                scan.run = None
        elif seq > prev_seq + 1:
            # The row after a gap cannot be checked: the MAC it chains from is gone.
            missing = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1}..{seq - 1}"
            scan.problems.append(
                Problem(prev_seq + 1, ProblemKind.DELETED, f"entry {missing} is missing")
            )
            scan.run = None
        else:
            scan.problems.append(
                Problem(seq, ProblemKind.INSERTED, f"seq {seq} appears more than once")
            )
            scan.run = None
        prev_seq, prev_mac = seq, mac
    scan.entries, scan.last_seq, scan.last_mac = count, prev_seq, prev_mac
    scan.run = None
    return scan


def _link(base: hmac.HMAC, prev: bytes, seq: int, fields: Fields, mac: bytes) -> bool:
    h = base.copy()
    h.update(prev)
    h.update(canonical(seq, fields))
    return hmac.compare_digest(h.digest(), mac)


def _mismatch(scan: _Scan, base: hmac.HMAC, row: Row, prev: tuple[int, bytes]) -> None:
    """Set aside a row that does not link, unless it only carries a shifted seq."""
    prev_seq, prev_mac = prev
    seq, fields, mac = (
        row[0],
        (row[1], row[2], row[3], row[4], row[5], row[6]),
        bytes.fromhex(row[7]),
    )
    for delta in (1, -1):
        if _link(base, prev_mac, seq - delta, fields, mac):
            if scan.run is not None and scan.run[1] == seq - 1 and scan.run[2] == delta:
                scan.run[1] = seq
                scan.problems.pop()  # replaced below by the longer run
            else:
                scan.run = [seq, seq, delta]
            first, last, _ = scan.run
            shift, cause = ("higher", "inserted") if delta > 0 else ("lower", "deleted")
            message = (
                f"entries {first}..{last} carry a seq one {shift} than they were written "
                f"with (renumbered after an entry was {cause})"
            )
            scan.problems.append(Problem(first, ProblemKind.RENUMBERED, message))
            return
    scan.run = None
    if len(scan.odd) < MAX_DIAGNOSED:
        scan.odd.append(_Odd(seq, prev_seq, prev_mac, mac, fields))
    else:
        scan.undiagnosed += 1


def _diagnose(scan: _Scan, base: hmac.HMAC, head_seq: int | None) -> None:
    """Find each set-aside row's true predecessor among the others (see the module doc)."""
    odd = scan.odd
    for _ in range(8):
        candidates = [(o.prev_mac, o.prev_seq, ("before", j)) for j, o in enumerate(odd)]
        candidates += [(o.mac, o.orig, ("after", j)) for j, o in enumerate(odd) if o.orig]
        changed = False
        for i, row in enumerate(odd):
            if row.orig is not None:
                continue
            for prev, prev_seq, via in candidates:
                if via[1] != i and _link(base, prev, prev_seq + 1, row.fields, row.mac):
                    row.orig, row.via, changed = prev_seq + 1, via, True
                    break
        if not changed:
            break
    skipped = {o.via[1] for o in odd if o.via is not None and o.via[0] == "before"}
    by_seq = {o.seq: o for o in odd}
    for j, row in enumerate(odd):
        problem = _classify(row, j in skipped, by_seq, odd, head_seq)
        if problem is not None:
            scan.problems.append(problem)
    if scan.undiagnosed:
        scan.problems.append(
            Problem(
                scan.last_seq,
                ProblemKind.MODIFIED,
                f"{scan.undiagnosed} further entries do not match their MAC (not diagnosed)",
            )
        )
    scan.problems.sort(key=lambda p: p.seq)


def _classify(
    row: _Odd, skipped: bool, by_seq: dict[int, _Odd], odd: list[_Odd], head_seq: int | None
) -> Problem | None:
    seq = row.seq
    kind, message = ProblemKind.MODIFIED, f"entry {seq} does not match its MAC (modified)"
    before = by_seq.get(seq - 1)
    if row.orig is not None and row.via is not None:
        if row.orig == seq:
            return None  # genuine: it only follows an entry that was moved
        moved_by_insert = row.via[0] == "before" and odd[row.via[1]].orig is None
        kind = ProblemKind.RENUMBERED if moved_by_insert else ProblemKind.REORDERED
        message = f"entry {seq} was written as seq {row.orig}"
    elif skipped:
        kind = ProblemKind.INSERTED
        message = f"entry {seq} is not part of the chain (the next entry links around it)"
    elif head_seq is not None and seq > head_seq:
        kind = ProblemKind.INSERTED
        message = f"entry {seq} lies beyond the head and does not match its MAC"
    elif before is not None and before.orig is None:
        kind = ProblemKind.UNVERIFIABLE
        message = f"entry {seq} cannot be checked: the MAC of entry {seq - 1} is not genuine"
    return Problem(seq, kind, message)


def _check_head(scan: _Scan, head_seq: int | None, head_mac: str | None) -> None:
    last = scan.last_seq
    if head_seq is None:
        if scan.entries:
            scan.problems.append(Problem(last, ProblemKind.HEAD, "the chain has no head row"))
        return
    if head_seq > last:
        missing = f"{last + 1}" if head_seq == last + 1 else f"{last + 1}..{head_seq}"
        scan.problems.append(
            Problem(last + 1, ProblemKind.DELETED, f"entry {missing} is missing from the end")
        )
        scan.problems.append(
            Problem(
                last + 1,
                ProblemKind.HEAD,
                f"the head records seq {head_seq} but the last entry is {last}",
            )
        )
    elif head_seq < last:
        scan.problems.append(
            Problem(
                head_seq + 1,
                ProblemKind.HEAD,
                f"entries continue to seq {last} beyond the head at seq {head_seq}",
            )
        )
    elif head_mac != scan.last_mac.hex():
        scan.problems.append(
            Problem(last, ProblemKind.HEAD, f"the head does not match entry {last}")
        )
