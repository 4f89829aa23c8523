# SPDX-License-Identifier: Apache-2.0
"""Sliding-window rate limits on verification attempts, per staff member and per client.

Windows are counted from ``codeword_attempts``.  Every attempt that was not itself refused by a
limit counts, whatever its outcome - including attempts for clients without a word - so a
refusal never depends on whether the client is enrolled.  The check and the insert are not one
locked step: parallel attempts can pass a limit by a few (the exact guard against guessing is the
lockout counter, which is changed under a row lock).
"""

from __future__ import annotations

import threading
from datetime import datetime
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import Database
from .interfaces import VerifyOutcome
from .models import CodewordAttempt

__all__ = ["PRUNE_EVERY", "RateLimits"]

PRUNE_EVERY = timedelta(minutes=10)
"""How often one process deletes attempts older than the longest window."""


class RateLimits:
    """Counts attempts in two sliding windows and prunes old attempts now and then.

    :param db: the database holding ``codeword_attempts``.
    :param staff_limit: ``(attempts, seconds)`` per staff member within a tenant.
    :param client_limit: ``(attempts, seconds)`` per client within a tenant.
    :raises ValueError: for a limit that is not two positive numbers.
    """

    def __init__(
        self, db: Database, staff_limit: tuple[int, int], client_limit: tuple[int, int]
    ) -> None:
        for attempts, seconds in (staff_limit, client_limit):
            if attempts < 1 or seconds < 1:
                raise ValueError("A rate limit needs at least one attempt and one second.")
        self._db = db
        self.staff_limit = staff_limit
        self.client_limit = client_limit
        self.longest = timedelta(seconds=max(staff_limit[1], client_limit[1]))
        self._next_prune: datetime | None = None
        self._lock = threading.Lock()

    def exceeded(self, tenant: str, staff: str, pseudonym: str, now: datetime) -> bool:
        """Whether another attempt by ``staff`` on the client ``pseudonym`` is over a limit."""
        counted = CodewordAttempt.outcome != VerifyOutcome.RATE_LIMITED.value
        a = CodewordAttempt
        with self._db.session() as session:
            for column, value, (limit, seconds) in (
                (a.staff, staff, self.staff_limit),
                (a.patient_pseudonym, pseudonym, self.client_limit),
            ):
                since = now - timedelta(seconds=seconds)
                count = session.scalar(
                    select(func.count())
                    .select_from(a)
                    .where(a.tenant_id == tenant, column == value, a.at > since, counted)
                )
                if (count or 0) >= limit:
                    return True
        return False

    @staticmethod
    def record(
        session: Session,
        *,
        tenant: str,
        staff: str,
        pseudonym: str,
        now: datetime,
        outcome: VerifyOutcome,
    ) -> None:
        """Add one attempt row to ``session`` (the caller commits)."""
        session.add(
            CodewordAttempt(
                tenant_id=tenant,
                staff=staff,
                patient_pseudonym=pseudonym,
                at=now,
                outcome=outcome.value,
            )
        )

    def prune_if_due(self, now: datetime) -> int:
        """Delete attempts older than the longest window, at most every :data:`PRUNE_EVERY`.

        :returns: how many rows were deleted (0 when it was not due).
        """
        with self._lock:
            if self._next_prune is not None and now < self._next_prune:
                return 0
            self._next_prune = now + PRUNE_EVERY
        with self._db.session() as session:
            result = session.execute(
                delete(CodewordAttempt)
                .where(CodewordAttempt.at < now - self.longest)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)
