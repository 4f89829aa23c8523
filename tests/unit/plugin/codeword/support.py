# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the code-word tests: names, a clock, the wiring and a process worker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from plugin.audit.models import AuditEntry
from plugin.audit.services import SqlAuditLog
from plugin.codeword.alerts import Alerter
from plugin.codeword.hashing import WordHasher
from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import PatientFacts
from plugin.codeword.interfaces import VerifyResult
from plugin.codeword.policies import PolicyStore
from plugin.codeword.services import CodewordService
from plugin.crypto import Sealer
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.local import LocalKeyProvider
from plugin.crypto.pseudonyms import Pseudonymizer
from plugin.outbox.models import OutboxItem
from plugin.outbox.services import Outbox
from plugin.outbox.services import payload_aad
from plugin.store import Database
from plugin.tenants.models import Tenant
from plugin.vault.notices import NoticeBoard

TENANT = "clinic"
OTHER_TENANT = "other"
CLINICIAN = "Practitioner/prac-1"
SECOND_CLINICIAN = "Practitioner/prac-2"
FRONT_DESK = "Practitioner/desk-1"
SECOND_DESK = "Practitioner/desk-2"
PATIENT = "pat-1"
APPOINTMENT = "appt-1"
WORD = "Lantern over Marsh"
FACTS = PatientFacts(names=("Robin Ashdown",), birth_date="1987-03-14")
FAST: dict[str, Any] = {"time_cost": 1, "memory_cost": 256, "parallelism": 1}
"""argon2id parameters that keep tests quick (production values are tested on their own)."""


@dataclass
class Clock:
    """An injectable clock (seconds since the epoch) that only moves when told."""

    now: float = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def add_tenants(db: Database) -> None:
    with db.session() as session:
        for tenant in (TENANT, OTHER_TENANT):
            session.add(
                Tenant(id=tenant, name=tenant.title(), iss=f"https://{tenant}.example/fhir",
                       client_id="q", auth_method="private_key_jwt", signing_alg="RS384",
                       scope="launch", frame_origins=[f"https://{tenant}.example"],
                       role_mapping={}, retention={}, confidentiality="R")
            )  # fmt: skip


@dataclass
class Wiring:
    """The code-word services over one database, as ``create_app`` builds them."""

    db: Database
    provider: KeyProvider
    audit: SqlAuditLog
    pseudonyms: Pseudonymizer
    outbox_cipher: Sealer
    policies: PolicyStore
    alerter: Alerter
    hasher: WordHasher
    service: CodewordService


def wire(
    db: Database,
    provider: KeyProvider,
    *,
    clock: Any = None,
    outbox_key: bytes = b"k" * 32,
    hasher: WordHasher | None = None,
    **limits: Any,
) -> Wiring:
    kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
    audit = SqlAuditLog(db, provider)
    pseudonyms = Pseudonymizer(provider)
    cipher = Sealer(outbox_key, "outbox")
    notices = NoticeBoard(db, lambda t, p: pseudonyms.pseudonym(t, f"Patient/{p}"))
    alerter = Alerter(notices, Outbox(db, cipher, **kwargs), pseudonyms, **kwargs)
    policies = PolicyStore(db, audit, **kwargs)
    hasher = hasher or WordHasher(provider, **FAST)
    service = CodewordService(db, hasher, pseudonyms, audit, alerter, policies, **kwargs, **limits)
    return Wiring(db, provider, audit, pseudonyms, cipher, policies, alerter, hasher, service)


def enroll(
    service: CodewordService, word: str = WORD, patient: str = PATIENT, actor: str = CLINICIAN
) -> None:
    service.enroll(tenant=TENANT, patient_id=patient, word=word, confirm=word, facts=FACTS,
                   actor=actor, client_present=True)  # fmt: skip


def verify(
    service: CodewordService,
    word: str,
    *,
    staff: str = FRONT_DESK,
    patient: str = PATIENT,
    action: Action = Action.RESCHEDULE,
    appointment: str | None = APPOINTMENT,
) -> VerifyResult:
    return service.verify(tenant=TENANT, patient_id=patient, word=word, action=action,
                          appointment_id=appointment, staff=staff)  # fmt: skip


def audit_rows(db: Database, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.tenant_id, AuditEntry.seq)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with db.session() as session:
        return list(session.scalars(query))


def change_entries(db: Database, stage: str | None = None) -> list[AuditEntry]:
    """The appointment-change audit entries: ``stage`` ``intent`` (before the EHR write) or
    ``written`` (the change recorded); ``None`` for the refusals, which have no stage."""
    return [
        entry
        for entry in audit_rows(db, "codeword:appointment:write")
        if entry.detail.get("stage") == stage
    ]


def outbox_payloads(db: Database, cipher: Sealer) -> list[dict[str, Any]]:
    """The resources queued in the outbox, opened."""
    with db.session() as session:
        rows = list(session.scalars(select(OutboxItem).order_by(OutboxItem.created_at)))
    return [
        json.loads(cipher.open(bytes(row.sealed_payload or b""), aad=payload_aad(row)))
        for row in rows
    ]


def guess_in_process(
    url: str, key_file: Path, staff: str, threads: int, guesses: int, out: Path, barrier: Any
) -> None:
    """Runs in a spawned process: its own engine and key provider, ``threads`` threads each
    sending ``guesses`` wrong words; writes the outcomes to ``out`` as JSON."""
    db = Database(url)
    wiring = wire(db, LocalKeyProvider(key_file), staff_limit=(10_000, 600),
                  client_limit=(10_000, 3600))  # fmt: skip
    outcomes: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            start.wait(timeout=60)
            for i in range(guesses):
                result = verify(wiring.service, f"wrong guess {staff} {n} {i}", staff=staff)
                with lock:
                    outcomes.append(result.outcome.value)
        except Exception as exc:  # noqa: BLE001  (reported to the parent through the file)
            with lock:
                errors.append(repr(exc))

    barrier.wait(timeout=120)
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    out.write_text(json.dumps({"outcomes": outcomes, "errors": errors}))
    db.dispose()


def all_values(db: Database) -> Iterator[tuple[str, str, Any]]:
    """(table, column, value) for every value in every table of the schema."""
    from plugin.store import Base  # noqa: PLC0415

    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in zip(table.columns, row, strict=True):
                    yield table.name, column.name, value
