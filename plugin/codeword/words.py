# SPDX-License-Identifier: Apache-2.0
"""Storing, resetting and unlocking clients' words (``codewords`` rows), each change audited.

Every change runs in a write transaction that locks the client's row (see
:mod:`plugin.codeword.locking`).  ``version`` goes up whenever the digest changes, so a
verification computed against the old digest is re-done rather than counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..errors import PluginError
from ..store import Database
from .locking import write_transaction
from .models import CodewordRow

__all__ = [
    "AlreadyEnrolled",
    "Hashed",
    "NoPendingReset",
    "NotEnrolled",
    "SameApprover",
    "WordStore",
]

Hashed = tuple[bytes, bytes, dict[str, Any]]
"""``(salt, digest, params)`` from :meth:`plugin.codeword.hashing.WordHasher.hash`."""


class NotEnrolled(PluginError):
    error = "not_enrolled"
    description = "No code word is set for this client yet. Set one with the client first."
    status_code = 409


class AlreadyEnrolled(PluginError):
    error = "already_enrolled"
    description = (
        "A code word is already set for this client. To change it, give the current word, "
        "or choose that the client forgot it."
    )
    status_code = 409


class NoPendingReset(PluginError):
    error = "no_pending_reset"
    description = "There is no code word reset waiting for approval."
    status_code = 409


class SameApprover(PluginError):
    error = "same_approver"
    description = "A different staff member must approve this reset."
    status_code = 403


def _locked_row(session: Session, tenant: str, pseudonym: str) -> CodewordRow | None:
    return session.scalars(
        select(CodewordRow)
        .where(CodewordRow.tenant_id == tenant, CodewordRow.patient_pseudonym == pseudonym)
        .with_for_update()
    ).one_or_none()


def _replace(row: CodewordRow, hashed: Hashed, actor: str, now: datetime) -> None:
    """The new word in force; a reset waiting for approval is left as it is."""
    row.salt, row.digest, row.params = hashed
    row.enrolled_by = actor
    row.enrolled_at = now
    row.failures = 0
    row.locked_until = None
    row.version = (row.version or 0) + 1


def _activate(row: CodewordRow, hashed: Hashed, actor: str, now: datetime) -> None:
    """The new word in force and any waiting reset settled by it."""
    _replace(row, hashed, actor, now)
    row.pending_salt = row.pending_digest = row.pending_params = None
    row.pending_by = row.pending_at = None


class WordStore:
    """The ``codewords`` table.

    :param db: the database.
    :param audit: the audit chain (entries name the client by pseudonym, never the word).
    :param now: the current time (timezone-aware).
    """

    def __init__(self, db: Database, audit: AuditSink, now: Callable[[], datetime]) -> None:
        self._db = db
        self._audit = audit
        self._now = now

    def _audit_in(
        self, session: Session, event: tuple[str, str, str], action: AuditAction, **detail: Any
    ) -> None:
        """Audit ``action`` on ``event`` = ``(tenant, pseudonym, actor)`` in ``session``."""
        tenant, pseudonym, actor = event
        self._audit.record(
            AuditEvent(tenant, actor, action, subject=pseudonym, detail=detail), session=session
        )

    def set_first_word(self, tenant: str, pseudonym: str, hashed: Hashed, actor: str) -> None:
        """Enroll the client's first word; ``actor`` becomes the treating clinician.

        :raises AlreadyEnrolled: when the client has a word (changing it needs the current
            word, see :meth:`change_in`, or a reset).
        :raises sqlalchemy.exc.IntegrityError: when a concurrent first enrollment won.
        """
        now = self._now()
        with write_transaction(self._db) as session:
            if _locked_row(session, tenant, pseudonym) is not None:
                raise AlreadyEnrolled
            row = CodewordRow(
                id=str(uuid.uuid4()), tenant_id=tenant, patient_pseudonym=pseudonym, version=0
            )
            session.add(row)
            _activate(row, hashed, actor, now)
            row.treating_clinician = actor
            session.flush()
            self._audit_in(
                session,
                (tenant, pseudonym, actor),
                AuditAction.CODEWORD_ENROLL,
                version=row.version,
            )

    def change_in(self, session: Session, row: CodewordRow, hashed: Hashed, actor: str) -> None:
        """Change the word in the transaction that locked ``row`` and proved the current word.

        ``actor`` becomes the treating clinician; a reset waiting for a second approval keeps
        waiting (only its approval replaces the word with the reset's).
        """
        _replace(row, hashed, actor, self._now())
        row.treating_clinician = actor
        session.flush()
        self._audit_in(
            session,
            (row.tenant_id, row.patient_pseudonym, actor),
            AuditAction.CODEWORD_CHANGE,
            version=row.version,
        )

    def reset(
        self, tenant: str, pseudonym: str, hashed: Hashed, actor: str, *, pending: bool
    ) -> bool:
        """Replace the word now, or park it for a second approval when ``pending``.

        :returns: False when the client has no word (nothing written).
        """
        now = self._now()
        with write_transaction(self._db) as session:
            row = _locked_row(session, tenant, pseudonym)
            if row is None:
                return False
            if pending:
                row.pending_salt, row.pending_digest, row.pending_params = hashed
                row.pending_by, row.pending_at = actor, now
            else:
                _activate(row, hashed, actor, now)
            self._audit_in(
                session,
                (tenant, pseudonym, actor),
                AuditAction.CODEWORD_RESET,
                pending=pending,
                version=row.version,
            )
            return True

    def approve(self, tenant: str, pseudonym: str, approver: str) -> None:
        """Activate the pending word; the approver must not be the one who asked for it."""
        now = self._now()
        with write_transaction(self._db) as session:
            row = _locked_row(session, tenant, pseudonym)
            if row is None:
                raise NotEnrolled
            if (
                row.pending_salt is None
                or row.pending_digest is None
                or row.pending_params is None
                or row.pending_by is None
            ):
                raise NoPendingReset
            if row.pending_by == approver:
                raise SameApprover
            requested_by = row.pending_by
            pending = (bytes(row.pending_salt), bytes(row.pending_digest), row.pending_params)
            _activate(row, pending, requested_by, now)
            self._audit_in(
                session,
                (tenant, pseudonym, approver),
                AuditAction.CODEWORD_RESET_APPROVE,
                version=row.version,
            )

    def clear_lockout(self, tenant: str, pseudonym: str, actor: str) -> None:
        """Clear the failures and any lockout."""
        now = self._now()
        with write_transaction(self._db) as session:
            row = _locked_row(session, tenant, pseudonym)
            if row is None:
                raise NotEnrolled
            was_locked = row.locked_until is not None and row.locked_until > now
            row.failures, row.locked_until = 0, None
            self._audit_in(
                session,
                (tenant, pseudonym, actor),
                AuditAction.CODEWORD_LOCKOUT_CLEAR,
                was_locked=was_locked,
            )
