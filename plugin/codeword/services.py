# SPDX-License-Identifier: Apache-2.0
"""The code-word service: enrollment with the client present, resets, verification and grants.

This is the API the views, the appointment writer, the CDS service and the reconciliation job
use.  Verification itself is in :mod:`plugin.codeword.verification`, grants in
:mod:`plugin.codeword.grants`, stored words in :mod:`plugin.codeword.words`.  The word is never
stored, logged or audited; audit entries name the client by pseudonym only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit.interfaces import AuditSink
from ..crypto.pseudonyms import Pseudonymizer
from ..store import Database
from .alerts import Alerter
from .errors import AppointmentRequired
from .errors import ChangesPaused
from .errors import ClientNotPresent
from .errors import CurrentWordWrong
from .errors import TooManyAttempts
from .errors import WordRefused
from .grants import GrantBook
from .grants import GrantExpired
from .grants import GrantInvalid
from .grants import GrantOtherClient
from .grants import GrantRefused
from .grants import GrantUsed
from .hashing import WordHasher
from .interfaces import Action
from .interfaces import EnrollmentStatus
from .interfaces import Grant
from .interfaces import PatientFacts
from .interfaces import VerificationPolicy
from .interfaces import VerifyOutcome
from .interfaces import VerifyResult
from .limits import RateLimits
from .mismatch import Mismatch
from .mismatch import MismatchRecorder
from .models import CodewordGrant
from .models import CodewordRow
from .policies import PolicyStore
from .rules import word_problems
from .verification import Attempt
from .verification import VerificationBusy
from .verification import Verifier
from .verification import is_locked
from .verification import read_row
from .words import AlreadyEnrolled
from .words import Hashed
from .words import NoPendingReset
from .words import NotEnrolled
from .words import SameApprover
from .words import WordStore

__all__ = [
    "AlreadyEnrolled",
    "AppointmentRequired",
    "ChangesPaused",
    "ClientNotPresent",
    "CodewordService",
    "CurrentWordWrong",
    "GrantExpired",
    "GrantInvalid",
    "GrantOtherClient",
    "GrantRefused",
    "GrantUsed",
    "Mismatch",
    "NoPendingReset",
    "NotEnrolled",
    "SameApprover",
    "TooManyAttempts",
    "VerificationBusy",
    "WordRefused",
]


class CodewordService:
    """Enrollment, resets, verification and grants for one deployment (all tenants).

    :param db: the database.
    :param hasher: argon2id with the pepper from the key provider.
    :param pseudonyms: keyed pseudonyms of clients and appointments.
    :param audit: the audit chain.
    :param alerter: notices and EHR Communications about failures and lockouts.
    :param policies: the tenants' policies.
    :param clock: seconds since the epoch.
    :param staff_limit: ``(attempts, seconds)`` per staff member.
    :param client_limit: ``(attempts, seconds)`` per client.
    """

    def __init__(  # noqa: PLR0917  (one collaborator per seam)
        self,
        db: Database,
        hasher: WordHasher,
        pseudonyms: Pseudonymizer,
        audit: AuditSink,
        alerter: Alerter,
        policies: PolicyStore,
        *,
        clock: Callable[[], float] = time.time,
        staff_limit: tuple[int, int] = (30, 600),
        client_limit: tuple[int, int] = (20, 3600),
    ) -> None:
        self._db = db
        self._hasher = hasher
        self._pseudonyms = pseudonyms
        self._audit = audit
        self._alerter = alerter
        self.policies = policies
        self._clock = clock
        self.limits = RateLimits(db, staff_limit, client_limit)
        self._grants = GrantBook(db, self.appointment_key, self._now)
        self._words = WordStore(db, audit, self._now)
        self._verifier = Verifier(
            db, hasher, audit, alerter, policies, self.limits, self._grants, self._now
        )
        self._mismatches = MismatchRecorder(
            db, audit, alerter, policies, self.pseudonym, self.appointment_key
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def pseudonym(self, tenant: str, patient_id: str) -> str:
        """The client's keyed pseudonym (``patient_id`` is the bare FHIR id)."""
        return self._pseudonyms.pseudonym(tenant, f"Patient/{patient_id}")

    def appointment_key(self, tenant: str, appointment_id: str) -> str:
        """The keyed hash standing for an appointment in the database."""
        return self._pseudonyms.pseudonym(tenant, f"Appointment/{appointment_id}")

    def _row(self, tenant: str, pseudonym: str) -> CodewordRow | None:
        return read_row(self._db, tenant, pseudonym)

    # --- enrollment -----------------------------------------------------------------------

    def status(self, tenant: str, patient_id: str) -> EnrollmentStatus:
        """Whether the client has a word, and its lockout and reset state."""
        row = self._row(tenant, self.pseudonym(tenant, patient_id))
        if row is None:
            return EnrollmentStatus(enrolled=False)
        locked = is_locked(row, self._now())
        lock_over = row.locked_until is not None and not locked
        return EnrollmentStatus(
            enrolled=True,
            locked_until=row.locked_until if locked else None,
            failures=0 if lock_over else row.failures,
            pending_reset=row.pending_digest is not None,
            pending_by=row.pending_by,
            treating_clinician=row.treating_clinician,
            enrolled_at=row.enrolled_at,
        )

    def is_protected(self, tenant: str, patient_id: str) -> bool:
        """Whether the client has an enrolled word."""
        return self._row(tenant, self.pseudonym(tenant, patient_id)) is not None

    def _checked_word(
        self, tenant: str, word: str, confirm: str, facts: PatientFacts, client_present: bool
    ) -> VerificationPolicy:
        if not client_present:
            raise ClientNotPresent
        protocol = self.policies.get(tenant)
        problems = word_problems(word, confirm, protocol, facts)
        if problems:
            raise WordRefused(problems)
        return protocol

    def enroll(
        self,
        *,
        tenant: str,
        patient_id: str,
        word: str,
        confirm: str,
        facts: PatientFacts,
        actor: str,
        client_present: bool,
    ) -> None:
        """Set the client's first word; ``actor`` becomes the treating clinician.

        :raises ClientNotPresent: unless the client is confirmed present.
        :raises WordRefused: when the word breaks the rules (nothing is stored).
        :raises AlreadyEnrolled: when the client has a word (see :meth:`change_word` and
            :meth:`request_reset`).
        """
        self._checked_word(tenant, word, confirm, facts, client_present)
        pseudonym = self.pseudonym(tenant, patient_id)
        hashed = self._hasher.hash(tenant, pseudonym, word)
        try:
            self._words.set_first_word(tenant, pseudonym, hashed, actor)
        except IntegrityError as exc:  # a concurrent first enrollment won on PostgreSQL
            raise AlreadyEnrolled from exc

    def change_word(
        self,
        *,
        tenant: str,
        patient_id: str,
        current: str,
        word: str,
        confirm: str,
        facts: PatientFacts,
        actor: str,
        client_present: bool,
    ) -> None:
        """Change the client's word after proving the current one; ``actor`` becomes the
        treating clinician.  A reset waiting for a second approval keeps waiting.

        The current word is checked like a caller's (rate limits, lockout, argon2id, counter,
        alerts, audit) and the word changes in the transaction that found it right.  The new
        word is checked against the rules first, so a refused new word counts nothing.

        :raises ClientNotPresent: unless the client is confirmed present.
        :raises WordRefused: when the new word breaks the rules.
        :raises NotEnrolled: when the client has no word.
        :raises CurrentWordWrong: when ``current`` is wrong (one failed attempt).
        :raises ChangesPaused: when changes are paused (or this attempt paused them).
        :raises TooManyAttempts: when a rate limit refused the attempt.
        :raises VerificationBusy: when the word kept changing meanwhile.
        """
        self._checked_word(tenant, word, confirm, facts, client_present)
        pseudonym = self.pseudonym(tenant, patient_id)
        if self._row(tenant, pseudonym) is None:
            raise NotEnrolled
        hashed: Hashed = self._hasher.hash(tenant, pseudonym, word)
        attempt = Attempt(
            tenant=tenant,
            pseudonym=pseudonym,
            patient_id=patient_id,
            staff=actor,
            action=None,
            appointment_id=None,
        )

        def change(session: Session, row: CodewordRow) -> None:
            self._words.change_in(session, row, hashed, actor)

        result = self._verifier.verify(attempt, current, on_right=change)
        if result.outcome == VerifyOutcome.GRANTED:
            return
        if result.outcome == VerifyOutcome.NOT_ENROLLED:
            raise NotEnrolled
        if result.outcome == VerifyOutcome.RATE_LIMITED:
            raise TooManyAttempts
        if result.outcome == VerifyOutcome.WRONG and result.locked_until is None:
            raise CurrentWordWrong(result.remaining or 0)
        raise ChangesPaused

    def request_reset(
        self,
        *,
        tenant: str,
        patient_id: str,
        word: str,
        confirm: str,
        facts: PatientFacts,
        actor: str,
        client_present: bool,
    ) -> bool:
        """Replace a forgotten word, with the client present.

        :returns: True when the new word is active now; False when it waits for a second staff
            member's approval (the protocol's ``second_approval``).
        :raises ClientNotPresent: unless the client is confirmed present.
        :raises WordRefused: when the word breaks the rules.
        :raises NotEnrolled: when the client has no word to reset.
        """
        protocol = self._checked_word(tenant, word, confirm, facts, client_present)
        pseudonym = self.pseudonym(tenant, patient_id)
        hashed = self._hasher.hash(tenant, pseudonym, word)
        if not self._words.reset(
            tenant, pseudonym, hashed, actor, pending=protocol.second_approval
        ):
            raise NotEnrolled
        return not protocol.second_approval

    def approve_reset(self, *, tenant: str, patient_id: str, approver: str) -> None:
        """Activate a pending reset.

        :raises NotEnrolled: when the client has no word.
        :raises NoPendingReset: when no reset waits.
        :raises SameApprover: when ``approver`` asked for the reset.
        """
        self._words.approve(tenant, self.pseudonym(tenant, patient_id), approver)

    def clear_lockout(self, *, tenant: str, patient_id: str, actor: str) -> None:
        """End a lockout and clear the failures (the clinician, with the client present).

        :raises NotEnrolled: when the client has no word.
        """
        self._words.clear_lockout(tenant, self.pseudonym(tenant, patient_id), actor)

    # --- verification ---------------------------------------------------------------------

    def verify(
        self,
        *,
        tenant: str,
        patient_id: str,
        word: str,
        action: Action,
        appointment_id: str | None,
        staff: str,
    ) -> VerifyResult:
        """Check what the caller says against the client's word.

        See :mod:`plugin.codeword.verification` for the order of the checks and the locking.

        :param action: the change asked for.
        :param appointment_id: the appointment it applies to (required for actions on one).
        :param staff: the verifying staff member's reference.
        :raises AppointmentRequired: for an action on an appointment without one.
        :raises VerificationBusy: when the word kept changing during the verification.
        """
        action = Action(action)
        if action.on_appointment and not appointment_id:
            raise AppointmentRequired
        attempt = Attempt(
            tenant=tenant,
            pseudonym=self.pseudonym(tenant, patient_id),
            patient_id=patient_id,
            staff=staff,
            action=action,
            appointment_id=appointment_id,
        )
        return self._verifier.verify(attempt, word)

    # --- grants ---------------------------------------------------------------------------

    def claim(
        self,
        *,
        tenant: str,
        patient_id: str,
        token: str,
        staff: str,
        action: Action,
        appointment_id: str | None,
        session: Session | None = None,
    ) -> Grant:
        """Take a grant for one write; see :meth:`GrantBook.claim`.

        :param patient_id: the client in the launch making the write (bare FHIR id).
        :param session: the caller's transaction, when the claim must commit with it.
        :raises GrantOtherClient: for a grant given for another client's word.
        :raises GrantInvalid: for another tenant, staff member, action or appointment.
        :raises GrantUsed: when it was used (or is being used).
        :raises GrantExpired: when it has expired.
        """
        return self._grants.claim(
            tenant=tenant,
            pseudonym=self.pseudonym(tenant, patient_id),
            token=token,
            staff=staff,
            action=action,
            appointment_id=appointment_id,
            session=session,
        )

    def record_mismatch(self, mismatch: Mismatch) -> None:
        """Audit (``denied``) and alert an appointment and a verification of different
        clients; see :mod:`plugin.codeword.mismatch`."""
        self._mismatches.record(mismatch)

    def complete(
        self,
        *,
        tenant: str,
        grant_id: str,
        result_version: str | None,
        session: Session | None = None,
    ) -> None:
        """Mark a claimed grant used after its write (``result_version``: the new versionId).

        :param session: the caller's transaction, when the grant must be spent with it.
        :raises GrantInvalid: when no claimed grant has that id.
        """
        self._grants.complete(
            tenant=tenant, grant_id=grant_id, result_version=result_version, session=session
        )

    def spend(
        self, session: Session, *, tenant: str, grant_id: str, result_version: str | None
    ) -> None:
        """Mark a grant used once its write is confirmed after the fact (recovery)."""
        self._grants.spend(session, tenant=tenant, grant_id=grant_id, result_version=result_version)

    def release(self, *, tenant: str, grant_id: str) -> None:
        """Give a claimed grant back after its write failed."""
        self._grants.release(tenant=tenant, grant_id=grant_id)

    def used_grants(self, tenant: str, appointment_id: str) -> list[CodewordGrant]:
        """The used grants behind changes to one appointment."""
        return self._grants.used(tenant, appointment_id)

    def open_book_grants(self, tenant: str, patient_id: str) -> list[CodewordGrant]:
        """The client's ``book`` grants not claimed yet (expired ones included)."""
        return self._grants.open_book(tenant, self.pseudonym(tenant, patient_id))
