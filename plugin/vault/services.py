# SPDX-License-Identifier: Apache-2.0
"""Vault service: put, read (treating clinician or break-glass), list, destroy, expire.

Every record has its own data key (AES-256-GCM; the associated data binds tenant, record id,
record type and patient pseudonym).  The data key is wrapped under the key of the record's
retention period, which lives only in the key provider.  Destroying one record re-wraps the other
records of its period under a fresh period key and destroys the old one in the provider, so even
a copy of the database taken before the destroy cannot open it.  Expiry destroys whole periods.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..crypto.envelope import EnvelopeCipher
from ..crypto.envelope import RecordAad
from ..crypto.envelope import Sealed
from ..crypto.keyring import Keyring
from ..crypto.pseudonyms import Pseudonymizer
from ..errors import Forbidden
from ..errors import PluginError
from ..store import Database
from .keystore import VaultKeyStore
from .models import Notice
from .models import VaultRecord
from .notices import NoticeBoard
from .retention import RetentionPolicy

__all__ = ["RecordSummary", "RetentionPolicy", "VaultService"]


RECORD_TYPES = (
    "screening",
    "risk-review",
    "safety-plan",
    "process-note",
    "note-draft",
    "signed-note",
    "release-basis",
    "consent",
    "access-reason",
    "screening-draft",
)


class RecordGone(PluginError):
    error = "record_gone"
    description = "This record was destroyed or has expired under the retention policy."
    status_code = 410


class RecordNotFound(PluginError):
    error = "record_not_found"
    description = "There is no such record for this client."
    status_code = 404


@dataclass(frozen=True)
class RecordSummary:
    """Metadata only; no content."""

    id: str
    record_type: str
    author: str
    created_at: datetime
    expires_at: datetime
    destroyed_at: datetime | None


class VaultService:
    """The vault: put, read, replace, destroy and expire sealed records."""

    def __init__(  # noqa: PLR0917  (one collaborator per seam)
        self,
        db: Database,
        envelope: EnvelopeCipher,
        keyring: Keyring,
        pseudonyms: Pseudonymizer,
        audit: AuditSink,
        retention: Callable[[str], RetentionPolicy],
    ) -> None:
        self._db = db
        self._envelope = envelope
        self._keyring = keyring
        self._pseudonyms = pseudonyms
        self._audit = audit
        self._retention = retention
        self.notices = NoticeBoard(db, self.pseudonym)
        self.keystore = VaultKeyStore(db)
        """The vault's wrapped data keys, for key rotation (``quietline keys rotate``)."""

    def pseudonym(self, tenant: str, patient_id: str) -> str:
        return self._pseudonyms.pseudonym(tenant, f"Patient/{patient_id}")

    def put(
        self,
        session: Session,
        *,
        tenant: str,
        patient_id: str,
        record_type: str,
        author: str,
        content: dict[str, Any],
    ) -> str:
        """Seal ``content`` into a new record in the caller's transaction; returns its id."""
        return self._seal_row(
            session,
            tenant=tenant,
            subject=self.pseudonym(tenant, patient_id),
            record_type=record_type,
            author=author,
            content=content,
        )

    def _seal_row(
        self,
        session: Session,
        *,
        tenant: str,
        subject: str,
        record_type: str,
        author: str,
        content: dict[str, Any],
    ) -> str:
        if record_type not in RECORD_TYPES:
            raise PluginError(f"Unknown record type {record_type}.")
        now = datetime.now(UTC)
        record_id = str(uuid.uuid4())
        expires = self._retention(tenant).expiry(record_type, now)
        label = self._keyring.label_for(tenant, expires)
        aad = RecordAad(tenant, record_id, record_type, subject)
        sealed = self._envelope.seal(
            json.dumps(content, separators=(",", ":")).encode(), kek_label=label, aad=aad
        )
        session.add(
            VaultRecord(
                id=record_id,
                tenant_id=tenant,
                record_type=record_type,
                patient_pseudonym=subject,
                author=author,
                kek_label=sealed.kek_label,
                wrapped_dek=sealed.wrapped_dek,
                nonce=sealed.nonce,
                ciphertext=sealed.ciphertext,
                created_at=now,
                updated_at=now,
                expires_at=expires,
            )
        )
        self._audit.record(
            AuditEvent(
                tenant,
                author,
                AuditAction.VAULT_WRITE,
                subject=subject,
                detail={"record": record_id, "type": record_type},
            ),
            session=session,
        )
        return record_id

    def summaries(self, *, tenant: str, patient_id: str) -> list[RecordSummary]:
        subject = self.pseudonym(tenant, patient_id)
        with self._db.session() as session:
            rows = session.scalars(
                select(VaultRecord)
                .where(VaultRecord.tenant_id == tenant, VaultRecord.patient_pseudonym == subject)
                .order_by(VaultRecord.created_at.desc())
            ).all()
            return [
                RecordSummary(
                    r.id,
                    r.record_type,
                    r.author,
                    r.created_at,
                    r.expires_at,
                    r.destroyed_at,
                )
                for r in rows
            ]

    def read(
        self,
        *,
        tenant: str,
        patient_id: str,
        record_id: str,
        actor: str,
        break_glass_reason: str | None = None,
    ) -> dict[str, Any]:
        """Open a record for its author (the treating clinician), or by break-glass.

        :raises Forbidden: another user without a break-glass reason (audited as denied).
        :raises RecordGone: destroyed or expired.
        """
        subject = self.pseudonym(tenant, patient_id)
        with self._db.session() as session:
            row = session.get(VaultRecord, record_id)
            if row is None or row.tenant_id != tenant or row.patient_pseudonym != subject:
                raise RecordNotFound
            if row.author != actor:
                reason = (break_glass_reason or "").strip()
                if not reason:
                    self._audit.record(
                        AuditEvent(
                            tenant,
                            actor,
                            AuditAction.VAULT_ACCESS_DENIED,
                            outcome="denied",
                            subject=subject,
                            detail={"record": record_id},
                        ),
                        session=session,
                    )
                    session.commit()
                    raise Forbidden("Only the treating clinician can open this record.")
                self._break_glass(session, row, actor, reason)
            if row.destroyed_at is not None or row.ciphertext is None:
                raise RecordGone
            sealed = Sealed(
                str(row.kek_label),
                bytes(row.wrapped_dek or b""),
                bytes(row.nonce or b""),
                bytes(row.ciphertext),
            )
            aad = RecordAad(tenant, row.id, row.record_type, subject)
            self._audit.record(
                AuditEvent(
                    tenant,
                    actor,
                    AuditAction.VAULT_READ,
                    subject=subject,
                    detail={"record": record_id, "type": row.record_type},
                ),
                session=session,
            )
        return dict(json.loads(self._envelope.open(sealed, aad=aad)))

    def replace(
        self,
        *,
        tenant: str,
        patient_id: str,
        record_id: str,
        actor: str,
        content: dict[str, Any],
    ) -> None:
        """Re-seal a record the actor wrote (a draft being autosaved) under a fresh data key.

        :raises RecordNotFound: not this client's record, or not the actor's.
        """
        subject = self.pseudonym(tenant, patient_id)
        with self._db.session() as session:
            row = session.get(VaultRecord, record_id, with_for_update=True)
            if (
                row is None
                or row.tenant_id != tenant
                or row.patient_pseudonym != subject
                or row.author != actor
            ):
                raise RecordNotFound
            if row.destroyed_at is not None or row.kek_label is None:
                raise RecordGone
            aad = RecordAad(tenant, row.id, row.record_type, subject)
            sealed = self._envelope.seal(
                json.dumps(content, separators=(",", ":")).encode(),
                kek_label=row.kek_label,
                aad=aad,
            )
            row.wrapped_dek = sealed.wrapped_dek
            row.nonce = sealed.nonce
            row.ciphertext = sealed.ciphertext
            row.version += 1
            row.updated_at = datetime.now(UTC)
            self._audit.record(
                AuditEvent(
                    tenant,
                    actor,
                    AuditAction.VAULT_WRITE,
                    subject=subject,
                    detail={"record": record_id, "type": row.record_type, "version": row.version},
                ),
                session=session,
            )

    def discard(self, *, tenant: str, patient_id: str, record_id: str, actor: str) -> None:
        """Remove a draft the actor wrote once its content lives in final records.

        The ciphertext and wrapped key are erased from the database (no key rotation: the same
        content is kept, under its own keys, in the final records).
        """
        subject = self.pseudonym(tenant, patient_id)
        with self._db.session() as session:
            row = session.get(VaultRecord, record_id)
            if row is None or row.patient_pseudonym != subject or row.author != actor:
                raise RecordNotFound
        self._tombstone(record_id, "discarded")

    def _break_glass(self, session: Session, row: VaultRecord, actor: str, reason: str) -> None:
        # The reason is free text and may hold PHI: it is kept sealed in the vault, and the
        # audit entry carries only the id of that sealed copy.
        if len(reason) > 500:
            raise PluginError("Keep the break-glass reason under 500 characters.")
        reason_id = self._seal_row(
            session,
            tenant=row.tenant_id,
            subject=row.patient_pseudonym,
            record_type="access-reason",
            author=actor,
            content={"reason": reason, "record": row.id},
        )
        now = datetime.now(UTC)
        session.add(
            Notice(
                id=str(uuid.uuid4()),
                tenant_id=row.tenant_id,
                recipient=row.author,
                kind="break-glass",
                record_id=row.id,
                actor=actor,
                created_at=now,
            )
        )
        self._audit.record(
            AuditEvent(
                row.tenant_id,
                actor,
                AuditAction.BREAK_GLASS,
                subject=row.patient_pseudonym,
                detail={"record": row.id, "author_notified": True, "reason_record": reason_id},
            ),
            session=session,
        )

    def destroy(self, *, tenant: str, patient_id: str, record_id: str, actor: str) -> None:
        """Crypto-shred one record (its author only)."""
        subject = self.pseudonym(tenant, patient_id)
        with self._db.session() as session:
            row = session.get(VaultRecord, record_id)
            if row is None or row.tenant_id != tenant or row.patient_pseudonym != subject:
                raise RecordNotFound
            if row.author != actor:
                raise Forbidden("Only the record's author can destroy it.")
            if row.destroyed_at is not None or row.kek_label is None:
                raise RecordGone
            label = row.kek_label
        # Tombstone first (ciphertext and wrapped key gone), then destroy the period key the
        # old wrapped key sits under, re-wrapping the period's other records.
        self._tombstone(record_id, "destroyed")
        self._keyring.shred_record([self.keystore], label, record_id, actor=actor)
        self._audit.record(
            AuditEvent(
                tenant,
                actor,
                AuditAction.VAULT_DESTROY,
                subject=subject,
                detail={"record": record_id},
            )
        )

    def expire(self, now: datetime | None = None) -> int:
        """Destroy the period keys whose retention ended and tombstone their records."""
        labels = self._keyring.expire(now or datetime.now(UTC), [self.keystore])
        count = 0
        for label in labels:
            with self._db.session() as session:
                rows = session.execute(
                    select(
                        VaultRecord.id, VaultRecord.tenant_id, VaultRecord.patient_pseudonym
                    ).where(VaultRecord.kek_label == label)
                ).all()
            for record_id, tenant, subject in rows:
                self._tombstone(record_id, "expired")
                self._audit.record(
                    AuditEvent(
                        tenant,
                        "system",
                        AuditAction.VAULT_EXPIRE,
                        subject=subject,
                        detail={"record": record_id},
                    )
                )
                count += 1
        return count

    def _tombstone(self, record_id: str, reason: str) -> None:
        with self._db.session() as session:
            session.execute(
                update(VaultRecord)
                .where(VaultRecord.id == record_id)
                .values(
                    ciphertext=None,
                    wrapped_dek=None,
                    nonce=None,
                    kek_label=None,
                    destroyed_at=datetime.now(UTC),
                    destroyed_reason=reason,
                )
            )
