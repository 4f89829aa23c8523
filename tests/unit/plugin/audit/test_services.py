# SPDX-License-Identifier: Apache-2.0
"""SqlAuditLog: appends a keyed chain per tenant, atomically with the caller, under concurrency."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy import text

from plugin.audit import AuditAction
from plugin.audit import AuditRefused
from plugin.audit import AuditSink
from plugin.audit import SqlAuditLog
from plugin.audit import verify_all
from plugin.audit import verify_chain
from plugin.audit.models import AuditEntry
from plugin.audit.models import AuditHead
from plugin.audit.services import AUDIT_KEY_LABEL
from plugin.audit.services import canonical_at
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.audit.support import ACTOR
from tests.unit.plugin.audit.support import append_in_process
from tests.unit.plugin.audit.support import event
from tests.unit.plugin.audit.support import fill
from tests.unit.plugin.audit.support import seqs


def test_appends_from_seq_one_and_the_chain_verifies(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    sink: AuditSink = log  # mypy checks SqlAuditLog against the Protocol
    fill(sink, 5)

    assert seqs(audit_db) == [1, 2, 3, 4, 5]
    with audit_db.session() as session:
        head = session.get(AuditHead, "ehr")
        last = session.scalars(select(AuditEntry).where(AuditEntry.seq == 5)).one()
        assert head is not None
        assert (head.seq, head.mac) == (5, last.mac)
    report = verify_chain(audit_db, provider, "ehr")
    assert report.ok
    assert (report.entries, report.head_seq, report.problems) == (5, 5, ())


def test_mac_is_hmac_of_previous_mac_and_canonical_json(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    log.record(event(1, detail={"b": "x", "a": 2}))
    log.record(event(2, subject=None, detail={}))

    key = provider.derive(AUDIT_KEY_LABEL, b"ehr")
    with audit_db.session() as session:
        first, second = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    body = (
        f'[1,"{canonical_at(first.at)}","{ACTOR}","vault:record:read","success","ps-1",'
        '{"a":2,"b":"x"}]'
    ).encode()
    expected = hmac.new(key, bytes(32) + body, hashlib.sha256).hexdigest()
    assert first.mac == expected
    body = f'[2,"{canonical_at(second.at)}","{ACTOR}","vault:record:read","success",null,{{}}]'
    assert (
        second.mac == hmac.new(key, bytes.fromhex(expected) + body.encode(), "sha256").hexdigest()
    )


def test_each_tenant_has_its_own_chain_and_key(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    fill(log, 3, tenant="ehr")
    fill(log, 2, tenant="other")

    assert seqs(audit_db, "ehr") == [1, 2, 3]
    assert seqs(audit_db, "other") == [1, 2]
    with audit_db.session() as session:
        macs = session.execute(
            select(AuditEntry.tenant_id, AuditEntry.mac).where(AuditEntry.seq == 1)
        ).all()
    assert len({mac for _, mac in macs}) == 2
    reports = verify_all(audit_db, provider)
    assert [(r.tenant, r.entries, r.ok) for r in reports] == [("ehr", 3, True), ("other", 2, True)]


class CountingProvider(LocalKeyProvider):
    """The real key file provider, counting how often the chain key is derived."""

    derived = 0

    def derive(self, label: str, context: bytes) -> bytes:
        self.derived += 1
        return super().derive(label, context)


def test_the_chain_key_is_created_once_and_cached(audit_db: Database, key_file: Path) -> None:
    provider = CountingProvider(key_file)
    assert provider.labels() == []
    log = SqlAuditLog(audit_db, provider)

    fill(log, 4)
    fill(log, 2, tenant="other")

    assert provider.labels() == [AUDIT_KEY_LABEL]
    assert provider.derived == 2
    assert verify_chain(audit_db, provider, "ehr").ok


def test_an_entry_rolls_back_with_the_callers_transaction(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    fill(log, 2)

    class Boom(Exception):
        pass

    def change_then_fail() -> None:
        with audit_db.session() as session:
            log.record(event(3, action=AuditAction.VAULT_WRITE), session=session)
            assert session.execute(text("SELECT count(*) FROM audit_entries")).scalar() == 3
            raise Boom

    with pytest.raises(Boom):
        change_then_fail()

    assert seqs(audit_db) == [1, 2]
    assert verify_chain(audit_db, provider, "ehr").ok


def test_an_entry_commits_with_the_callers_transaction(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    with audit_db.session() as session:
        session.execute(text("SELECT 1"))
        log.record(event(1), session=session)
        assert seqs(audit_db) == []  # not visible before the caller commits
    assert seqs(audit_db) == [1]
    assert verify_chain(audit_db, provider, "ehr").ok


@pytest.mark.parametrize(
    "overrides",
    [
        {"detail": {"note": "x" * 201}},
        {"detail": {"score": 1.5}},
        {"detail": {"answers": ["yes"]}},
        {"detail": {"nested": {"name": "A. Person"}}},
        {"detail": {"missing": None}},
        {"outcome": "ok"},
        {"actor": ""},
        {"subject": "Patient/" + "9" * 130},
    ],
)
def test_phi_guard_refuses_and_writes_nothing(
    log: SqlAuditLog, audit_db: Database, overrides: dict[str, object]
) -> None:
    with pytest.raises(AuditRefused):
        log.record(event(1, **overrides))

    assert seqs(audit_db) == []


def test_phi_guard_accepts_short_codes_ids_counts_and_flags(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    log.record(event(1, outcome="denied", detail={"reason": "x" * 200, "count": 3, "kept": False}))

    assert seqs(audit_db) == [1]
    assert verify_chain(audit_db, provider, "ehr").ok


def test_four_threads_append_one_gapless_chain(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(50):
                log.record(event(n, detail={"worker": worker, "n": n}))
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert seqs(audit_db) == list(range(1, 201))
    report = verify_chain(audit_db, provider, "ehr")
    assert report.ok, report.problems
    assert report.head_seq == 200


def test_two_processes_append_one_gapless_chain(
    log: SqlAuditLog,
    audit_db: Database,
    provider: LocalKeyProvider,
    database_url: str,
    key_file: Path,
) -> None:
    log.keys.base("ehr")  # creates the chain key the workers share through the key file
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=append_in_process, args=(database_url, key_file, w, 50, barrier))
        for w in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)

    assert [worker.exitcode for worker in workers] == [0, 0]
    assert seqs(audit_db) == list(range(1, 101))
    with audit_db.session() as session:
        by_worker = session.scalars(select(AuditEntry.detail)).all()
    assert sorted({d["worker"] for d in by_worker}) == [0, 1]
    report = verify_chain(audit_db, provider, "ehr")
    assert report.ok, report.problems
