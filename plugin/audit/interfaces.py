# SPDX-License-Identifier: Apache-2.0
"""The audit seam: what an audit event is and who records it.

Entries carry no PHI: the actor is a FHIR user reference (staff, not the client), the subject is
a keyed pseudonym of the patient, and ``detail`` holds only codes, counts and record ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

__all__ = ["AuditAction", "AuditEvent", "AuditOutcome", "AuditSink", "Checkpoint", "CheckpointSink"]


class AuditAction(StrEnum):
    """Audit tags, ``area:resource:action`` like permissions."""

    LAUNCH_START = "launch:session:create"
    VAULT_WRITE = "vault:record:write"
    VAULT_READ = "vault:record:read"
    VAULT_DESTROY = "vault:record:destroy"
    VAULT_EXPIRE = "vault:record:expire"
    VAULT_ACCESS_DENIED = "vault:record:deny"
    BREAK_GLASS = "vault:record:break-glass"
    NOTE_SIGN = "notes:entry:sign"
    NOTE_RELEASE_WITHHELD = "notes:release:withhold"
    NOTE_LINT_OVERRIDE = "notes:lint:keep"
    EHR_WRITE_QUEUED = "outbox:write:queue"
    EHR_WRITE_DELIVERED = "outbox:write:deliver"
    EHR_WRITE_FAILED = "outbox:write:fail"
    KEY_CREATE = "keys:kek:create"
    KEY_ROTATE = "keys:kek:rotate"
    KEY_DESTROY = "keys:kek:destroy"
    AUDIT_EXPORT = "audit:log:export"
    AUDIT_VERIFY = "audit:log:verify"
    ADMIN_SETTINGS = "admin:settings:write"
    CODEWORD_PROTOCOL = "codeword:protocol:write"
    CODEWORD_ENROLL = "codeword:word:enroll"
    CODEWORD_CHANGE = "codeword:word:change"
    CODEWORD_RESET = "codeword:word:reset"
    CODEWORD_RESET_APPROVE = "codeword:word:approve"
    CODEWORD_VERIFY = "codeword:word:verify"
    CODEWORD_LOCKOUT_CLEAR = "codeword:lockout:clear"
    APPOINTMENT_CHANGE = "codeword:appointment:write"
    APPOINTMENT_BYPASS = "codeword:appointment:bypass"
    CDS_CALL = "cds:hook:call"
    CDS_FEEDBACK = "cds:hook:feedback"


AuditOutcome = str
"""``success``, ``failure`` or ``denied``."""


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened.  ``detail`` values are short codes, ids or numbers only."""

    tenant: str
    actor: str
    action: AuditAction
    outcome: AuditOutcome = "success"
    subject: str | None = None
    detail: dict[str, str | int | bool] = field(default_factory=dict)


class AuditSink(Protocol):
    """Appends events to the tenant's tamper-evident chain."""

    def record(self, event: AuditEvent, *, session: Session | None = None) -> None:
        """Append ``event``; with ``session`` it commits with the caller's transaction."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of where a tenant's chain stood, kept outside the database.

    ``n`` numbers a tenant's checkpoints from 1; ``seq`` and ``mac`` are the head entry's
    sequence number and MAC when the checkpoint was taken, ``entries`` the number of entries,
    ``at`` the time (canonical UTC).  ``prev`` is the signature of checkpoint ``n - 1`` (64
    zeros for the first), so the checkpoints form a chain of their own, and ``sig`` is the hex
    HMAC-SHA256 over all the other fields under a key only the key provider can derive.
    """

    tenant: str
    n: int
    seq: int
    mac: str
    entries: int
    at: str
    prev: str
    sig: str


class CheckpointSink(Protocol):
    """Write-once storage for checkpoints, outside the database the chain lives in."""

    def append(self, checkpoint: Checkpoint) -> None:
        """Append ``checkpoint`` after the tenant's last one.

        :raises CheckpointConflict: when the last stored checkpoint is not ``n - 1`` with
            signature ``prev`` (another writer appended first); nothing is written.
        """

    def read(self, tenant: str) -> list[Checkpoint | None]:
        """Every stored checkpoint of ``tenant`` in write order; ``None`` for an unreadable one."""

    def tenants(self) -> list[str]:
        """Every tenant with stored checkpoints, sorted."""
