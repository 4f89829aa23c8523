# SPDX-License-Identifier: Apache-2.0
"""Verifying what a caller says against the client's word, exactly under concurrency.

Order (:meth:`Verifier.verify`):

1. rate limits per staff member and per client (``rate-limited``; nothing else is looked at,
   so the answer is the same whether or not the client has a word);
2. ``not-enrolled`` / ``not-required`` (the protocol does not cover the action);
3. a lockout in force (``locked``);
4. argon2id outside any database lock (about 80 ms with the default parameters);
5. one short write transaction that locks the client's row (``SELECT ... FOR UPDATE`` on
   PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and re-reads it: a lockout set meanwhile wins; an
   expired lockout starts the count again; a wrong word adds one failure and locks at the
   protocol's limit; a right word clears the failures and issues a grant.  The attempt row, the
   audit entry and any alert commit in the same transaction, so replicas sharing the database
   count exactly.  When the word itself changed meanwhile, the attempt is checked again.

Every attempt leaves a ``codeword_attempts`` row and a ``codeword:word:verify`` audit entry whose
detail holds the action and the outcome (and the grant id when one was issued), never the word.

A clinician changing the client's word proves the current word through the same steps (an
attempt without an action, audited as ``change-word``): a wrong one counts towards the lockout
like a caller's, and a right one changes the word in the transaction that checked it instead of
issuing a grant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..errors import PluginError
from ..store import Database
from .alerts import Alerter
from .grants import GrantBook
from .hashing import WordHasher
from .interfaces import Action
from .interfaces import VerificationPolicy
from .interfaces import VerifyOutcome
from .interfaces import VerifyResult
from .limits import RateLimits
from .locking import write_transaction
from .models import CodewordRow
from .policies import PolicyStore

__all__ = [
    "CHANGE_WORD",
    "Attempt",
    "OnRight",
    "VerificationBusy",
    "Verifier",
    "is_locked",
    "read_row",
]

AUDIT_OUTCOME = {
    VerifyOutcome.GRANTED: "success",
    VerifyOutcome.NOT_REQUIRED: "success",
    VerifyOutcome.NOT_ENROLLED: "success",
    VerifyOutcome.WRONG: "failure",
    VerifyOutcome.LOCKED: "denied",
    VerifyOutcome.RATE_LIMITED: "denied",
}
_ROUNDS = 3
CHANGE_WORD = "change-word"
"""The audited action of an attempt that proves the current word before changing it."""
OnRight = Callable[[Session, CodewordRow], None]
"""What a right current word does, under the row lock (changes the word)."""


class VerificationBusy(PluginError):
    error = "verification_busy"
    description = "The code word was changed during the verification. Verify the caller again."
    status_code = 409


@dataclass(frozen=True)
class Attempt:
    """One verification request (the word travels separately and is never kept)."""

    tenant: str
    pseudonym: str
    patient_id: str
    staff: str
    action: Action | None
    """The change asked for; None when a clinician proves the current word to change it."""
    appointment_id: str | None

    @property
    def audited_action(self) -> str:
        return CHANGE_WORD if self.action is None else self.action.value


def is_locked(row: CodewordRow, now: datetime) -> bool:
    """Whether a lockout is in force at ``now``."""
    return row.locked_until is not None and row.locked_until > now


def read_row(db: Database, tenant: str, pseudonym: str) -> CodewordRow | None:
    """The client's row, detached, without a lock."""
    with db.session() as session:
        return session.scalars(
            select(CodewordRow).where(
                CodewordRow.tenant_id == tenant, CodewordRow.patient_pseudonym == pseudonym
            )
        ).one_or_none()


class Verifier:
    """Runs verification attempts (see the module docstring).

    :param db: the database.
    :param hasher: argon2id with the provider's pepper.
    :param audit: the audit chain.
    :param alerter: alerts on wrong words and lockouts.
    :param policies: the tenants' policies.
    :param limits: the rate limits.
    :param grants: issues grants for right words.
    :param now: the current time (timezone-aware).
    """

    def __init__(  # noqa: PLR0917  (one collaborator per seam)
        self,
        db: Database,
        hasher: WordHasher,
        audit: AuditSink,
        alerter: Alerter,
        policies: PolicyStore,
        limits: RateLimits,
        grants: GrantBook,
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._hasher = hasher
        self._audit = audit
        self._alerter = alerter
        self._policies = policies
        self._limits = limits
        self._grants = grants
        self._now = now

    def verify(
        self, attempt: Attempt, word: str, *, on_right: OnRight | None = None
    ) -> VerifyResult:
        """Check ``word`` for ``attempt`` and record the outcome.

        :param on_right: for an attempt without an action, what a right word does in the
            locked transaction (instead of issuing a grant).
        :raises VerificationBusy: when the word kept changing during the verification.
        """
        tenant, pseudonym = attempt.tenant, attempt.pseudonym
        now = self._now()
        self._limits.prune_if_due(now)
        if self._limits.exceeded(tenant, attempt.staff, pseudonym, now):
            return self._record(attempt, VerifyResult(VerifyOutcome.RATE_LIMITED))
        protocol = self._policies.get(tenant)
        row = read_row(self._db, tenant, pseudonym)
        for _ in range(_ROUNDS):
            if row is None:
                return self._record(attempt, VerifyResult(VerifyOutcome.NOT_ENROLLED))
            if attempt.action is not None and attempt.action not in protocol.actions:
                return self._record(attempt, VerifyResult(VerifyOutcome.NOT_REQUIRED))
            if is_locked(row, self._now()):
                result = VerifyResult(VerifyOutcome.LOCKED, locked_until=row.locked_until)
                return self._record(attempt, result)
            right = self._hasher.verify(tenant, pseudonym, word, row.salt, row.digest, row.params)
            rehashed = None
            if right and self._hasher.needs_rehash(row.params):
                rehashed = self._hasher.hash(tenant, pseudonym, word)
            settled = self._settle(
                attempt, protocol, row.version, right=right, rehashed=rehashed, on_right=on_right
            )
            if settled is not None:
                return settled
            row = read_row(self._db, tenant, pseudonym)  # the word changed meanwhile
        raise VerificationBusy

    def _settle(
        self,
        attempt: Attempt,
        protocol: VerificationPolicy,
        version: int,
        *,
        right: bool,
        rehashed: tuple[bytes, bytes, dict[str, Any]] | None,
        on_right: OnRight | None,
    ) -> VerifyResult | None:
        """Apply one checked attempt under the row lock; None when the word changed meanwhile."""
        with write_transaction(self._db) as session:
            row = session.scalars(
                select(CodewordRow)
                .where(
                    CodewordRow.tenant_id == attempt.tenant,
                    CodewordRow.patient_pseudonym == attempt.pseudonym,
                )
                .with_for_update()
            ).one_or_none()
            if row is None or row.version != version:
                return None
            now = self._now()
            if is_locked(row, now):
                result = VerifyResult(VerifyOutcome.LOCKED, locked_until=row.locked_until)
                return self._record(attempt, result, session)
            if row.locked_until is not None:  # the lockout is over: the count starts again
                row.failures, row.locked_until = 0, None
            if right:
                row.failures = 0
                if rehashed is not None:
                    row.salt, row.digest, row.params = rehashed
                if attempt.action is None:
                    if on_right is not None:
                        on_right(session, row)
                    return self._record(attempt, VerifyResult(VerifyOutcome.GRANTED), session)
                grant = self._grants.issue(
                    session,
                    tenant=attempt.tenant,
                    pseudonym=attempt.pseudonym,
                    action=attempt.action,
                    appointment_id=attempt.appointment_id,
                    staff=attempt.staff,
                    minutes=protocol.grant_minutes,
                )
                return self._record(attempt, VerifyResult(VerifyOutcome.GRANTED, grant), session)
            row.failures += 1
            kind = "verification-failed" if attempt.action is not None else "word-change-failed"
            if row.failures >= protocol.max_failures:
                row.locked_until = now + timedelta(minutes=protocol.lockout_minutes)
                kind = "verification-locked"
            self._alerter.alert(
                session,
                tenant=attempt.tenant,
                patient_id=attempt.patient_id,
                kind=kind,
                clinician=row.treating_clinician,
                recipients=protocol.alert,
                actor=attempt.staff,
            )
            result = VerifyResult(
                VerifyOutcome.WRONG,
                remaining=max(protocol.max_failures - row.failures, 0),
                locked_until=row.locked_until,
            )
            return self._record(attempt, result, session)

    def _record(
        self, attempt: Attempt, result: VerifyResult, session: Session | None = None
    ) -> VerifyResult:
        """Store the attempt and its audit entry in ``session`` (or in a transaction of its own)."""
        if session is None:
            with write_transaction(self._db) as own:
                return self._record(attempt, result, own)
        self._limits.record(
            session,
            tenant=attempt.tenant,
            staff=attempt.staff,
            pseudonym=attempt.pseudonym,
            now=self._now(),
            outcome=result.outcome,
        )
        detail: dict[str, str | int | bool] = {
            "action": attempt.audited_action,
            "result": result.outcome.value,
        }
        if result.grant is not None:
            detail["grant"] = result.grant.id
        self._audit.record(
            AuditEvent(
                attempt.tenant,
                attempt.staff,
                AuditAction.CODEWORD_VERIFY,
                outcome=AUDIT_OUTCOME[result.outcome],
                subject=attempt.pseudonym,
                detail=detail,
            ),
            session=session,
        )
        return result
