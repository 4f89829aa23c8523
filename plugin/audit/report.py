# SPDX-License-Identifier: Apache-2.0
"""What a chain check found: :class:`ProblemKind`, :class:`Problem` and :class:`VerifyReport`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Problem", "ProblemKind", "VerifyReport"]


class ProblemKind(StrEnum):
    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    RENUMBERED = "renumbered"
    UNVERIFIABLE = "unverifiable"
    HEAD = "head"
    TRUNCATED = "truncated"
    """Entries a checkpoint recorded are gone from the end of the chain."""
    WIPED = "wiped"
    """The chain is empty (no entries, no head) although checkpoints recorded entries."""
    REPLACED = "replaced"
    """An entry no longer carries the MAC a checkpoint recorded for it."""
    CHECKPOINT = "checkpoint"
    """A checkpoint is unreadable, forged, altered, missing or out of order."""


@dataclass(frozen=True)
class Problem:
    """One finding; ``seq`` is where it shows in the stored order."""

    seq: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of a chain check; ``ok`` when there is no problem.

    ``checkpoints`` counts the checkpoint lines the chain was compared with.
    """

    tenant: str
    entries: int
    head_seq: int | None
    problems: tuple[Problem, ...] = ()
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "checkpoints": self.checkpoints,
            "problems": [
                {"seq": p.seq, "kind": p.kind.value, "message": p.message} for p in self.problems
            ],
        }
