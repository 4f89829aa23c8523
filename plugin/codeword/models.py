# SPDX-License-Identifier: Apache-2.0
"""Tables of the code-word capability.

No row holds a patient id, an appointment id or a code word in plaintext: clients appear as keyed
pseudonyms, appointments as keyed hashes of their reference (the same HMAC as pseudonyms), and
the word only as an argon2id digest of an HMAC under a pepper that lives in the key provider.
Staff appear by their FHIR user reference (``Practitioner/123``), which is not PHI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..store.base import Base
from ..store.base import UtcDateTime
from ..tenants.models import Tenant

__all__ = [
    "AppointmentWatch",
    "ChangeIntent",
    "CodewordAttempt",
    "CodewordGrant",
    "CodewordProtocolRow",
    "CodewordRow",
    "ReconcileCursor",
]


class CodewordProtocolRow(Base):
    """A tenant's verification protocol, as set by a practice admin (JSON, no PHI)."""

    __tablename__ = "codeword_protocols"

    tenant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey(Tenant.id, ondelete="CASCADE"), primary_key=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(300))


class CodewordRow(Base):
    """One client's enrolled word, its failure counter and lockout, and a pending reset.

    The counter and lockout are changed only under a row lock (``SELECT ... FOR UPDATE`` on
    PostgreSQL, the database write lock on SQLite), so replicas sharing the database agree.
    """

    __tablename__ = "codewords"
    __table_args__ = (UniqueConstraint("tenant_id", "patient_pseudonym"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey(Tenant.id, ondelete="CASCADE"))
    patient_pseudonym: Mapped[str] = mapped_column(String(64))
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    """argon2id time_cost, memory_cost (KiB), parallelism, hash_len and the pepper label."""
    treating_clinician: Mapped[str] = mapped_column(String(300))
    enrolled_by: Mapped[str] = mapped_column(String(300))
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    pending_salt: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    pending_digest: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    pending_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    pending_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    pending_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CodewordGrant(Base):
    """A single-use permission for one action on one appointment, issued after verification.

    ``token_hash`` is SHA-256 of the random grant token held by the staff member's page.
    ``state``: issued -> claimed (a write is under way) -> used, or back to issued when the
    write failed; expired grants are refused by time, whatever their state.
    """

    __tablename__ = "codeword_grants"
    __table_args__ = (Index("ix_codeword_grants_subject", "tenant_id", "patient_pseudonym"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey(Tenant.id, ondelete="CASCADE"))
    patient_pseudonym: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    appointment_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    issued_to: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), default="issued")
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    result_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The appointment's ``meta.versionId`` after the write this grant allowed."""


class CodewordAttempt(Base):
    """One verification attempt, for rate limits per staff member and per client."""

    __tablename__ = "codeword_attempts"
    __table_args__ = (
        Index("ix_codeword_attempts_staff", "tenant_id", "staff", "at"),
        Index("ix_codeword_attempts_subject", "tenant_id", "patient_pseudonym", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey(Tenant.id, ondelete="CASCADE"))
    staff: Mapped[str] = mapped_column(String(300))
    patient_pseudonym: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(16))


class AppointmentWatch(Base):
    """The last state Quietline knows of a protected client's appointment (bypass detection).

    ``fingerprint`` is SHA-256 over start, end, status and participants, so a change made in the
    EHR without a grant shows up as a new fingerprint with no grant behind it.
    """

    __tablename__ = "appointment_watch"
    __table_args__ = (UniqueConstraint("tenant_id", "appointment_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey(Tenant.id, ondelete="CASCADE"))
    appointment_key: Mapped[str] = mapped_column(String(64))
    patient_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReconcileCursor(Base):
    """How far the reconciliation job has read each tenant's appointment changes."""

    __tablename__ = "reconcile_cursors"

    tenant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey(Tenant.id, ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChangeIntent(Base):
    """An appointment change under way or done, recorded before the EHR is written.

    Written with the grant's claim and the audit entry of the attempt, so a change the EHR took
    can never end without its record: ``state`` is ``writing`` until the EHR has answered and
    the change is recorded (``written``, with the version it produced) or known not to have
    happened (``not-written``).  Before each ``PUT``, ``base_version`` is the version read,
    ``target_version`` the one the write is expected to produce and ``expected`` the
    fingerprint of the changed appointment, so a later read of the appointment shows whether
    the write happened.  ``stalled_at`` is set when recording a finished write failed.
    """

    __tablename__ = "codeword_change_intents"
    __table_args__ = (
        Index("ix_codeword_change_intents_open", "tenant_id", "state", "patient_pseudonym"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey(Tenant.id, ondelete="CASCADE"))
    grant_id: Mapped[str] = mapped_column(String(36), index=True)
    """A released grant can be claimed again, so one grant may have several intents."""
    patient_pseudonym: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    appointment_key: Mapped[str] = mapped_column(String(64), index=True)
    staff: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="writing")
    base_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expected: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stalled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
