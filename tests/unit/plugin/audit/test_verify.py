# SPDX-License-Identifier: Apache-2.0
"""verify_chain: every kind of tampering is detected and named at the right entry."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from plugin.audit import ProblemKind
from plugin.audit import SqlAuditLog
from plugin.audit import verify_all
from plugin.audit import verify_chain
from plugin.audit.services import canonical
from plugin.audit.services import canonical_at
from plugin.audit.verify import Problem
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.audit.support import fill
from tests.unit.plugin.audit.support import sql

M, D, I, R = (  # noqa: E741  (short names keep the expectations readable)
    ProblemKind.MODIFIED,
    ProblemKind.DELETED,
    ProblemKind.INSERTED,
    ProblemKind.REORDERED,
)


def _kinds(db: Database, provider: LocalKeyProvider) -> list[tuple[int, ProblemKind]]:
    return [(p.seq, p.kind) for p in verify_chain(db, provider, "ehr").problems]


@pytest.fixture
def chain(log: SqlAuditLog, audit_db: Database) -> Database:
    fill(log, 10)
    return audit_db


def test_an_untouched_chain_verifies(chain: Database, provider: LocalKeyProvider) -> None:
    report = verify_chain(chain, provider, "ehr")

    assert report.ok
    assert report.to_dict() == {
        "tenant": "ehr",
        "ok": True,
        "entries": 10,
        "head_seq": 10,
        "checkpoints": 0,
        "problems": [],
    }


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "Practitioner/999"),
        ("action", "vault:record:write"),
        ("outcome", "failure"),
        ("subject", "ps-someone-else"),
        ("detail", '{"record": "rec-4", "n": 4, "ok": false}'),
        ("at", "2020-01-01 00:00:00.000000"),
    ],
)
def test_a_modified_field_is_named_at_its_entry(
    chain: Database, provider: LocalKeyProvider, column: str, value: str
) -> None:
    # The column name comes from the parametrize list above, never from input.
    sql(chain, f"UPDATE audit_entries SET {column} = :v WHERE seq = 4", v=value)

    report = verify_chain(chain, provider, "ehr")

    assert [(p.seq, p.kind) for p in report.problems] == [(4, M)]
    assert "entry 4" in report.problems[0].message


def test_a_rewritten_entry_with_a_recomputed_sha256_is_detected(
    chain: Database, provider: LocalKeyProvider
) -> None:
    """The attacker has the database but not the key: a plain hash cannot be made to link."""
    sql(chain, "UPDATE audit_entries SET outcome = 'success', actor = 'x' WHERE seq = 6")
    forged = hashlib.sha256(b"anything the attacker can compute without the key").hexdigest()
    sql(chain, "UPDATE audit_entries SET mac = :m WHERE seq = 6", m=forged)

    kinds = _kinds(chain, provider)

    assert kinds[0] == (6, M)
    assert (7, ProblemKind.UNVERIFIABLE) in kinds


def test_a_chain_recomputed_under_a_guessed_key_is_detected(
    chain: Database, provider: LocalKeyProvider
) -> None:
    """Re-MAC every entry from the modified one on with a wrong key: still no valid link."""
    wrong = os.urandom(32)
    with chain.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT seq, at, actor, action, outcome, subject, detail, mac FROM audit_entries "
            "ORDER BY seq"
        ).all()
    prev = bytes.fromhex(rows[2][7])
    for seq, at, actor, action, outcome, subject, detail, _ in rows[3:]:
        stamp = canonical_at(at) if not isinstance(at, str) else at.replace(" ", "T") + "Z"
        data = detail if isinstance(detail, dict) else json.loads(detail)
        body = canonical(seq, (stamp, "Practitioner/1" if seq == 4 else actor, action, outcome,
                               subject, data))  # fmt: skip
        prev = hmac.new(wrong, prev + body, hashlib.sha256).digest()
        sql(chain, "UPDATE audit_entries SET mac = :m WHERE seq = :s", m=prev.hex(), s=seq)
    sql(chain, "UPDATE audit_entries SET actor = 'Practitioner/1' WHERE seq = 4")
    sql(chain, "UPDATE audit_heads SET mac = :m", m=prev.hex())

    report = verify_chain(chain, provider, "ehr")

    assert report.problems[0] == Problem(4, M, "entry 4 does not match its MAC (modified)")
    assert {p.seq for p in report.problems} == set(range(4, 11))


def test_a_deleted_entry_is_named(chain: Database, provider: LocalKeyProvider) -> None:
    sql(chain, "DELETE FROM audit_entries WHERE seq = 5")

    report = verify_chain(chain, provider, "ehr")

    assert report.problems == (Problem(5, D, "entry 5 is missing"),)


def test_several_deleted_entries_are_named_as_a_range(
    chain: Database, provider: LocalKeyProvider
) -> None:
    sql(chain, "DELETE FROM audit_entries WHERE seq IN (3, 4, 5)")

    assert verify_chain(chain, provider, "ehr").problems == (
        Problem(3, D, "entry 3..5 is missing"),
    )


def test_a_truncated_tail_is_a_deletion_and_a_head_mismatch(
    chain: Database, provider: LocalKeyProvider
) -> None:
    sql(chain, "DELETE FROM audit_entries WHERE seq > 7")

    assert _kinds(chain, provider) == [(8, D), (8, ProblemKind.HEAD)]


def test_a_head_that_does_not_match_the_last_entry(
    chain: Database, provider: LocalKeyProvider
) -> None:
    sql(chain, "UPDATE audit_heads SET mac = :m", m="ab" * 32)

    assert verify_chain(chain, provider, "ehr").problems == (
        Problem(10, ProblemKind.HEAD, "the head does not match entry 10"),
    )


def test_a_missing_head_row(chain: Database, provider: LocalKeyProvider) -> None:
    sql(chain, "DELETE FROM audit_heads")

    assert _kinds(chain, provider) == [(10, ProblemKind.HEAD)]


def _forged_row(db: Database, seq: int) -> None:
    sql(
        db,
        "INSERT INTO audit_entries (tenant_id, seq, at, actor, action, outcome, subject, "
        "detail, mac) VALUES ('ehr', :s, :at, 'Practitioner/1', 'vault:record:read', "
        "'success', 'ps-1', :d, :m)",
        s=seq,
        at="2026-01-01 00:00:00.000000",
        d="{}",
        m=hashlib.sha256(b"forged").hexdigest(),
    )


def test_an_inserted_entry_in_the_middle_is_named(
    chain: Database, provider: LocalKeyProvider
) -> None:
    """The forger makes room by renumbering the tail, then adds a row and moves the head."""
    sql(chain, "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 4")
    sql(chain, "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1000")
    _forged_row(chain, 4)
    sql(chain, "UPDATE audit_heads SET seq = 11")

    report = verify_chain(chain, provider, "ehr")

    kinds = [(p.seq, p.kind) for p in report.problems]
    assert kinds == [(4, I), (5, ProblemKind.RENUMBERED), (6, ProblemKind.RENUMBERED)]
    assert report.problems[1].message == "entry 5 was written as seq 4"
    assert report.problems[2].message.startswith("entries 6..11 carry a seq one higher")


def test_an_entry_appended_past_the_head_is_named(
    chain: Database, provider: LocalKeyProvider
) -> None:
    _forged_row(chain, 11)

    assert _kinds(chain, provider) == [(11, I), (11, ProblemKind.HEAD)]


def test_an_appended_entry_with_a_moved_head_is_still_detected(
    chain: Database, provider: LocalKeyProvider
) -> None:
    _forged_row(chain, 11)
    sql(chain, "UPDATE audit_heads SET seq = 11, mac = :m", m=hashlib.sha256(b"forged").hexdigest())

    assert _kinds(chain, provider) == [(11, M)]


def _swap(db: Database, a: int, b: int) -> None:
    sql(db, "UPDATE audit_entries SET seq = -seq WHERE seq IN (:a, :b)", a=a, b=b)
    sql(
        db,
        "UPDATE audit_entries SET seq = CASE WHEN seq = :na THEN :b ELSE :a END "
        "WHERE seq IN (:na, :nb)",
        a=a,
        b=b,
        na=-a,
        nb=-b,
    )


@pytest.mark.parametrize(("a", "b"), [(3, 7), (5, 6), (1, 10)])
def test_swapped_entries_are_named_as_reordered(
    chain: Database, provider: LocalKeyProvider, a: int, b: int
) -> None:
    _swap(chain, a, b)

    report = verify_chain(chain, provider, "ehr")

    kinds = [(p.seq, p.kind) for p in report.problems]
    if b == 10:  # the head names the MAC of the entry that now sits elsewhere
        assert kinds == [(a, R), (b, R), (b, ProblemKind.HEAD)]
    else:
        assert kinds == [(a, R), (b, R)]
    assert report.problems[0].message == f"entry {a} was written as seq {b}"
    assert report.problems[1].message == f"entry {b} was written as seq {a}"


def test_a_wrong_key_fails_from_the_first_entry(chain: Database, tmp_path: Path) -> None:
    report = verify_chain(chain, LocalKeyProvider(tmp_path / "other-keys.json"), "ehr")

    assert not report.ok
    assert report.problems[0] == Problem(1, M, "entry 1 does not match its MAC (modified)")


def test_verify_all_reports_each_tenant(
    log: SqlAuditLog, chain: Database, provider: LocalKeyProvider
) -> None:
    fill(log, 3, tenant="other")
    sql(chain, "DELETE FROM audit_entries WHERE tenant_id = 'other' AND seq = 2")

    reports = {report.tenant: report for report in verify_all(chain, provider)}

    assert reports["ehr"].ok
    assert [(p.seq, p.kind) for p in reports["other"].problems] == [(2, D)]


def test_an_empty_log_verifies(audit_db: Database, provider: LocalKeyProvider) -> None:
    report = verify_chain(audit_db, provider, "nobody")

    assert report.ok
    assert (report.entries, report.head_seq) == (0, None)
