# SPDX-License-Identifier: Apache-2.0
"""Each tenant's verification protocol, as a practice admin sets it; every change is audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import fields
from dataclasses import replace
from datetime import UTC
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..errors import PluginError
from ..store import Database
from .hashing import normalise
from .interfaces import VerificationPolicy
from .locking import write_transaction
from .models import CodewordProtocolRow

__all__ = ["LIMITS", "MAX_REFUSED_WORD", "MAX_REFUSED_WORDS", "PolicyInvalid", "PolicyStore"]

LIMITS: dict[str, tuple[int, int]] = {
    "max_failures": (1, 10),
    "lockout_minutes": (5, 10080),
    "min_length": (6, 64),
    "grant_minutes": (1, 30),
}
"""Inclusive ranges of the numeric settings."""

_LABELS = {
    "max_failures": "Failed attempts before the lockout",
    "lockout_minutes": "Lockout length in minutes",
    "min_length": "Shortest code word",
    "grant_minutes": "Minutes a verification stays usable",
}
MAX_REFUSED_WORDS = 500
MAX_REFUSED_WORD = 64


class PolicyInvalid(PluginError):
    """A protocol setting is out of range; nothing was saved."""

    error = "protocol_invalid"
    description = "The verification settings were not saved: a value is out of range."
    status_code = 400


def _checked(protocol: VerificationPolicy) -> VerificationPolicy:
    """``protocol`` with its refused words normalised and de-duplicated.

    :raises PolicyInvalid: for a value out of range.
    """
    for name, (low, high) in LIMITS.items():
        value = getattr(protocol, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PolicyInvalid(f"{_LABELS[name]} must be a whole number from {low} to {high}.")
    words: list[str] = []
    for raw in protocol.refused_words:
        word = normalise(raw)
        if len(word) > MAX_REFUSED_WORD:
            raise PolicyInvalid(
                f"Each refused word can be at most {MAX_REFUSED_WORD} characters long."
            )
        if word and word not in words:
            words.append(word)
    if len(words) > MAX_REFUSED_WORDS:
        raise PolicyInvalid(f"The list of refused words can hold at most {MAX_REFUSED_WORDS}.")
    return replace(protocol, refused_words=tuple(words))


def changed_fields(old: VerificationPolicy, new: VerificationPolicy) -> list[str]:
    """Names of the settings that differ, in declaration order."""
    return [
        f.name for f in fields(VerificationPolicy) if getattr(old, f.name) != getattr(new, f.name)
    ]


class PolicyStore:
    """Reads and saves tenants' policies (``codeword_protocols``, JSON without PHI).

    :param db: the database.
    :param audit: records every change as ``codeword:protocol:write``.
    :param clock: seconds since the epoch.
    """

    def __init__(
        self, db: Database, audit: AuditSink, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    def get(self, tenant: str) -> VerificationPolicy:
        """The tenant's protocol; the default one when the admin has not saved any."""
        return self.get_versioned(tenant)[0]

    def get_versioned(self, tenant: str) -> tuple[VerificationPolicy, int]:
        """The tenant's protocol and its version (0 for the unsaved default)."""
        with self._db.session() as session:
            row = session.get(CodewordProtocolRow, tenant)
            if row is None:
                return VerificationPolicy(), 0
            return VerificationPolicy.from_dict(row.settings), row.version

    def save(self, tenant: str, protocol: VerificationPolicy, *, actor: str) -> list[str]:
        """Validate and store ``protocol``; audit the change.

        :param tenant: the tenant id.
        :param protocol: the new settings.
        :param actor: the admin's FHIR user reference.
        :returns: the names of the settings that changed (empty: nothing was written).
        :raises PolicyInvalid: for a value out of range (nothing was written).
        """
        protocol = _checked(protocol)
        try:
            return self._save(tenant, protocol, actor)
        except IntegrityError:
            # Two first saves raced on PostgreSQL (no row to lock yet); the other one won.
            return self._save(tenant, protocol, actor)

    def _save(self, tenant: str, protocol: VerificationPolicy, actor: str) -> list[str]:
        now = datetime.fromtimestamp(self._clock(), UTC)
        with write_transaction(self._db) as session:
            row = session.scalars(
                select(CodewordProtocolRow)
                .where(CodewordProtocolRow.tenant_id == tenant)
                .with_for_update()
            ).one_or_none()
            old = VerificationPolicy.from_dict(row.settings) if row else VerificationPolicy()
            changed = changed_fields(old, protocol)
            if not changed:
                return []
            if row is None:
                row = CodewordProtocolRow(tenant_id=tenant, version=0)
                session.add(row)
            row.settings = protocol.to_dict()
            row.version = (row.version or 0) + 1
            row.updated_at = now
            row.updated_by = actor
            session.flush()
            self._audit.record(
                AuditEvent(
                    tenant,
                    actor,
                    AuditAction.CODEWORD_PROTOCOL,
                    detail={"changed": ",".join(changed), "version": row.version},
                ),
                session=session,
            )
            return changed
