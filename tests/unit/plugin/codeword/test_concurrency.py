# SPDX-License-Identifier: Apache-2.0
"""Two OS processes guessing in parallel threads on one database: the lockout holds exactly.

Each process has its own engine and key provider (on the shared key file), like two replicas of
the app.  Every attempt reads the row, runs argon2id outside any lock, then settles under the row
lock, so the counter ends at exactly ``max_failures`` however the attempts interleave.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from datetime import UTC
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.interfaces import VerifyOutcome
from plugin.codeword.models import CodewordAttempt
from plugin.codeword.models import CodewordRow
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from plugin.vault.models import Notice
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import WORD
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import enroll
from tests.unit.plugin.codeword.support import guess_in_process
from tests.unit.plugin.codeword.support import verify
from tests.unit.plugin.codeword.support import wire

MAX_FAILURES = 4
THREADS = 6
GUESSES = 5
STAFF = ("Practitioner/desk-a", "Practitioner/desk-b")


def test_two_processes_lock_out_at_exactly_max_failures(
    cw_db: Database, database_url: str, key_file: Path, tmp_path: Path
) -> None:
    # The real clock, which the children share; limits far above the attempts made here.
    wiring = wire(cw_db, LocalKeyProvider(key_file), staff_limit=(10_000, 600),
                  client_limit=(10_000, 3600))  # fmt: skip
    wiring.policies.save(TENANT, VerificationPolicy(max_failures=MAX_FAILURES),
                          actor="Practitioner/admin")  # fmt: skip
    enroll(wiring.service)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(STAFF))
    outputs = [tmp_path / f"outcomes-{n}.json" for n in range(len(STAFF))]
    workers = [
        context.Process(
            target=guess_in_process,
            args=(database_url, key_file, staff, THREADS, GUESSES, out, barrier),
        )
        for staff, out in zip(STAFF, outputs, strict=True)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)

    assert [worker.exitcode for worker in workers] == [0, 0]
    reports = [json.loads(out.read_text()) for out in outputs]
    assert [report["errors"] for report in reports] == [[], []]
    outcomes = Counter(o for report in reports for o in report["outcomes"])
    total = len(STAFF) * THREADS * GUESSES
    assert outcomes == {VerifyOutcome.WRONG.value: MAX_FAILURES,
                        VerifyOutcome.LOCKED.value: total - MAX_FAILURES}  # fmt: skip

    with cw_db.session() as session:
        row = session.scalars(select(CodewordRow)).one()
        attempts = session.scalar(select(func.count()).select_from(CodewordAttempt))
        notices = Counter(session.scalars(select(Notice.kind)))
    assert row.failures == MAX_FAILURES
    assert row.locked_until is not None
    assert row.locked_until > datetime.now(UTC)
    assert attempts == total
    assert notices == {"verification-failed": MAX_FAILURES - 1, "verification-locked": 1}
    results = Counter(e.detail["result"] for e in audit_rows(cw_db, "codeword:word:verify"))
    assert results == {"wrong": MAX_FAILURES, "locked": total - MAX_FAILURES}

    right = verify(wiring.service, WORD)
    assert (right.outcome, right.grant) == (VerifyOutcome.LOCKED, None)
    with cw_db.session() as session:
        assert session.scalars(select(CodewordRow.failures)).one() == MAX_FAILURES
