# SPDX-License-Identifier: Apache-2.0
"""Notes service: draft, lint, sign (vault + outbox in one transaction), process notes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..errors import PluginError
from ..launch.store import LiveLaunch
from ..outbox.services import Outbox
from ..store import Database
from ..tenants.interfaces import TenantRepository
from ..vault.services import VaultService
from .composer import NoteFacts
from .composer import compose
from .documents import NOTE_IDENTIFIER_SYSTEM
from .documents import build_document
from .linter import Finding
from .linter import lint
from .linter import review
from .release import ReleaseDecision

__all__ = ["Draft", "NoteBlocked", "NotesService"]

MAX_NOTE = 4000
MAX_PROCESS_NOTE = 20000


class NoteBlocked(PluginError):
    error = "note_blocked"
    description = "Remove each flagged detail, or keep it with a reason, before signing."
    status_code = 400


class NoteTooLong(PluginError):
    error = "note_too_long"
    description = "The note is longer than Quietline accepts. Nothing was saved."
    status_code = 400


class NoClient(PluginError):
    error = "no_client"
    description = "Open a client's chart first: notes belong to one client."
    status_code = 400


@dataclass(frozen=True)
class Draft:
    text: str
    findings: list[Finding]


class NotesService:
    def __init__(
        self,
        *,
        db: Database,
        vault: VaultService,
        outbox: Outbox,
        audit: AuditSink,
        tenants: TenantRepository,
    ) -> None:
        self._db = db
        self._vault = vault
        self._outbox = outbox
        self._audit = audit
        self._tenants = tenants

    def draft(self, facts: NoteFacts) -> Draft:
        text = compose(facts)
        return Draft(text, lint(text))

    def check(self, text: str) -> Draft:
        if len(text) > MAX_NOTE:
            raise NoteTooLong
        return Draft(text, lint(text))

    def sign(
        self,
        live: LiveLaunch,
        *,
        text: str,
        kept: Mapping[str, str],
        release: ReleaseDecision,
    ) -> str:
        """Store the signed note and queue it for the EHR; returns the document identifier.

        :raises NoteBlocked: a flagged detail is neither removed nor kept with a reason.
        """
        context = live.context
        if context.patient is None or context.fhir_user_reference is None:
            raise NoClient
        if len(text) > MAX_NOTE:
            raise NoteTooLong
        text = text.strip()
        if not text:
            raise NoteBlocked("The note is empty.")
        findings = lint(text)
        decision = review(text, findings, dict(kept))
        if not decision.can_sign:
            raise NoteBlocked
        tenant = self._tenants.by_id(context.tenant)
        now = datetime.now(UTC)
        identifier = str(uuid.uuid4())
        author = context.fhir_user_reference
        document = build_document(
            text=text,
            patient_id=context.patient,
            author=author,
            encounter_id=context.encounter,
            identifier=identifier,
            confidentiality=tenant.confidentiality,
            withheld=release.withheld,
            when=now,
        )
        subject = self._vault.pseudonym(tenant.id, context.patient)
        release_record = release.as_record(decided_by=author, decided_at=now.isoformat())
        with self._db.session() as session:
            self._vault.put(
                session,
                tenant=tenant.id,
                patient_id=context.patient,
                record_type="signed-note",
                author=author,
                content={
                    "text": text,
                    "kept": dict(kept),
                    "document": identifier,
                    "release": release_record,
                },
            )
            if release.withheld:
                self._vault.put(
                    session,
                    tenant=tenant.id,
                    patient_id=context.patient,
                    record_type="release-basis",
                    author=author,
                    content=release_record,
                )
                self._audit.record(
                    AuditEvent(
                        tenant.id,
                        author,
                        AuditAction.NOTE_RELEASE_WITHHELD,
                        subject=subject,
                        detail={
                            "document": identifier,
                            "basis": str(release.basis),
                            "scope": str(release.scope),
                        },
                    ),
                    session=session,
                )
            if kept:
                self._audit.record(
                    AuditEvent(
                        tenant.id,
                        author,
                        AuditAction.NOTE_LINT_OVERRIDE,
                        subject=subject,
                        detail={"document": identifier, "kept": len(kept)},
                    ),
                    session=session,
                )
            self._outbox.enqueue(
                session,
                tenant=tenant.id,
                resource=document,
                identifier_system=NOTE_IDENTIFIER_SYSTEM,
                identifier_value=identifier,
                created_by=author,
                patient_pseudonym=subject,
                launch_handle=live.handle,
            )
            self._audit.record(
                AuditEvent(
                    tenant.id,
                    author,
                    AuditAction.NOTE_SIGN,
                    subject=subject,
                    detail={"document": identifier, "withheld": release.withheld},
                ),
                session=session,
            )
        return identifier

    def save_process_note(self, live: LiveLaunch, text: str) -> str:
        """A psychotherapy (process) note: vault only, never sent anywhere."""
        context = live.context
        if context.patient is None or context.fhir_user_reference is None:
            raise NoClient
        if len(text) > MAX_PROCESS_NOTE:
            raise NoteTooLong
        with self._db.session() as session:
            return self._vault.put(
                session,
                tenant=context.tenant,
                patient_id=context.patient,
                record_type="process-note",
                author=context.fhir_user_reference,
                content={"text": text},
            )
