# SPDX-License-Identifier: Apache-2.0
"""Signed checkpoints outside the database: truncation and wipes are detected up to the last one."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

import pytest

from plugin.audit import Checkpointer
from plugin.audit import CheckpointRefused
from plugin.audit import FileCheckpointSink
from plugin.audit import ProblemKind
from plugin.audit import SqlAuditLog
from plugin.audit import verify_all
from plugin.audit import verify_chain
from plugin.audit.checkpoints import AnchorUnavailable
from plugin.audit.checkpoints import CheckpointConflict
from plugin.audit.checkpoints import checkpoint_body
from plugin.audit.checkpoints import to_line
from plugin.audit.interfaces import Checkpoint
from plugin.audit.report import Problem
from plugin.audit.report import VerifyReport
from plugin.audit.services import AUDIT_KEY_LABEL
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.audit.support import fill
from tests.unit.plugin.audit.support import roll_back_to
from tests.unit.plugin.audit.support import sql

T, W, C, X = (
    ProblemKind.TRUNCATED,
    ProblemKind.WIPED,
    ProblemKind.CHECKPOINT,
    ProblemKind.REPLACED,
)


@pytest.fixture
def sink(tmp_path: Path) -> FileCheckpointSink:
    return FileCheckpointSink(tmp_path / "anchors")


@pytest.fixture
def anchor(
    audit_db: Database, provider: LocalKeyProvider, sink: FileCheckpointSink
) -> Checkpointer:
    return Checkpointer(audit_db, provider, sink)


@pytest.fixture
def chain(log: SqlAuditLog, audit_db: Database) -> Database:
    fill(log, 10)
    return audit_db


@dataclass(frozen=True)
class Scene:
    """A chain of ten entries with its log, key provider, checkpoint file and checkpointer."""

    chain: Database
    log: SqlAuditLog
    provider: LocalKeyProvider
    sink: FileCheckpointSink
    anchor: Checkpointer

    def verify(self) -> VerifyReport:
        return verify_chain(self.chain, self.provider, "ehr", self.sink)

    def kinds(self) -> list[tuple[int, ProblemKind]]:
        return _kinds(self.chain, self.provider, self.sink)

    def checkpoint_and_cut(self, seq: int) -> None:
        """Write a checkpoint, then cut the chain back to ``seq`` with the head following it."""
        self.anchor.checkpoint("ehr")
        roll_back_to(self.chain, seq)


@pytest.fixture
def scene(
    chain: Database,
    log: SqlAuditLog,
    provider: LocalKeyProvider,
    sink: FileCheckpointSink,
    anchor: Checkpointer,
) -> Scene:
    return Scene(chain, log, provider, sink, anchor)


def _kinds(
    db: Database, provider: LocalKeyProvider, sink: FileCheckpointSink
) -> list[tuple[int, ProblemKind]]:
    return [(p.seq, p.kind) for p in verify_chain(db, provider, "ehr", sink).problems]


def _lines(sink: FileCheckpointSink) -> list[str]:
    return sink.path("ehr").read_text(encoding="utf-8").splitlines()


def _write_lines(sink: FileCheckpointSink, lines: list[str]) -> None:
    sink.path("ehr").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_a_checkpoint_records_the_head_signed_and_verifies(
    chain: Database, provider: LocalKeyProvider, sink: FileCheckpointSink, anchor: Checkpointer
) -> None:
    written = anchor.checkpoint("ehr")

    assert written is not None
    assert (written.tenant, written.n, written.seq, written.entries) == ("ehr", 1, 10, 10)
    assert sink.read("ehr") == [written]
    report = verify_chain(chain, provider, "ehr", sink)
    assert report.ok
    assert report.checkpoints == 1


def test_the_checkpoint_file_is_private_and_appended_to(
    chain: Database, log: SqlAuditLog, sink: FileCheckpointSink, anchor: Checkpointer
) -> None:
    anchor.checkpoint("ehr")
    fill(log, 2)
    anchor.checkpoint("ehr")

    assert stat.S_IMODE(sink.path("ehr").stat().st_mode) == 0o600
    assert stat.S_IMODE(sink.folder.stat().st_mode) == 0o700
    assert [json.loads(line)["n"] for line in _lines(sink)] == [1, 2]


def test_nothing_is_written_when_the_chain_did_not_move(
    chain: Database, sink: FileCheckpointSink, anchor: Checkpointer
) -> None:
    anchor.checkpoint("ehr")

    assert anchor.checkpoint("ehr") is None
    assert len(_lines(sink)) == 1


def test_a_truncated_tail_with_the_head_rolled_back_verifies_without_checkpoints(
    chain: Database, provider: LocalKeyProvider
) -> None:
    """The weakness checkpoints close: the cut chain links and its head names its end."""
    roll_back_to(chain, 7)

    assert verify_chain(chain, provider, "ehr").ok


def test_a_truncated_tail_with_the_head_rolled_back_is_detected(scene: Scene) -> None:
    scene.checkpoint_and_cut(7)

    report = scene.verify()

    assert report.problems == (
        Problem(
            8, T, "entry 8..10 is gone: the chain ends at seq 7 but checkpoint 1 recorded seq 10"
        ),
    )


def test_a_wipe_of_every_entry_and_the_head_is_detected(
    chain: Database, provider: LocalKeyProvider, sink: FileCheckpointSink, anchor: Checkpointer
) -> None:
    anchor.checkpoint("ehr")
    sql(chain, "DELETE FROM audit_entries")
    sql(chain, "DELETE FROM audit_heads")

    assert verify_chain(chain, provider, "ehr").ok  # the chain alone cannot tell
    reports = verify_all(chain, provider, sink)

    assert [(r.tenant, [(p.seq, p.kind) for p in r.problems]) for r in reports] == [
        ("ehr", [(1, W)])
    ]
    assert reports[0].problems[0].message == (
        "the chain is empty, but checkpoint 1 recorded 10 entries up to seq 10"
    )


def test_entries_appended_after_a_checkpoint_verify(scene: Scene) -> None:
    scene.anchor.checkpoint("ehr")
    fill(scene.log, 5)

    assert scene.verify().ok
    written = scene.anchor.checkpoint("ehr")
    assert written is not None
    assert (written.n, written.seq, written.entries) == (2, 15, 15)
    assert scene.verify().ok


def test_entries_written_after_the_last_checkpoint_can_be_cut_undetected(scene: Scene) -> None:
    """The residual risk the security notes name: only checkpointed entries are anchored."""
    scene.anchor.checkpoint("ehr")
    fill(scene.log, 3)
    roll_back_to(scene.chain, 10)

    assert scene.verify().ok


def test_a_cut_chain_written_again_past_the_checkpoint_is_detected(scene: Scene) -> None:
    scene.checkpoint_and_cut(7)
    fill(scene.log, 5)  # the app keeps appending: seq 8..12, new MACs

    assert scene.kinds() == [(10, X)]
    with pytest.raises(CheckpointRefused):
        scene.anchor.checkpoint("ehr")  # signing the new head would bless the cut
    assert len(_lines(scene.sink)) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 7), ("mac", "ab" * 32), ("entries", 7)],
    ids=["seq", "mac", "entries"],
)
def test_an_edited_checkpoint_is_reported(scene: Scene, field: str, value: object) -> None:
    scene.checkpoint_and_cut(7)
    record = json.loads(_lines(scene.sink)[0])
    record[field] = value  # make the checkpoint agree with the cut chain
    _write_lines(scene.sink, [json.dumps(record)])

    report = scene.verify()

    assert [(p.seq, p.kind) for p in report.problems] == [(0, C)]
    assert (
        report.problems[0].message == "line 1 of the checkpoint file does not match its signature"
    )


def test_a_checkpoint_signed_with_the_chain_key_is_forged(
    chain: Database, provider: LocalKeyProvider, sink: FileCheckpointSink
) -> None:
    """Checkpoints need their own key: one derived from the chain's key does not verify."""
    unsigned = Checkpoint("ehr", 1, 3, "00" * 32, 3, "2026-01-01T00:00:00.000000Z", "0" * 64, "")
    key = provider.derive(AUDIT_KEY_LABEL, b"ehr")
    forged = hmac.new(key, checkpoint_body(unsigned), hashlib.sha256).hexdigest()
    sink.append(replace(unsigned, sig=forged))

    assert _kinds(chain, provider, sink) == [(0, C)]


def test_a_checkpoint_line_deleted_from_the_middle_is_reported(scene: Scene) -> None:
    for _ in range(3):
        scene.anchor.checkpoint("ehr")
        fill(scene.log, 2)
    scene.anchor.checkpoint("ehr")
    lines = _lines(scene.sink)
    _write_lines(scene.sink, [lines[0], *lines[2:]])

    report = scene.verify()

    assert report.problems == (Problem(14, C, "checkpoint 2 is missing (deleted)"),)


def test_reordered_and_unreadable_checkpoint_lines_are_reported(scene: Scene) -> None:
    scene.anchor.checkpoint("ehr")
    fill(scene.log, 2)
    scene.anchor.checkpoint("ehr")
    first, second = _lines(scene.sink)
    _write_lines(scene.sink, [second, first, "{not json"])

    kinds = scene.kinds()

    assert (12, C) in kinds  # checkpoint 2 where 1 belongs
    assert (10, C) in kinds  # checkpoint 1 after 2
    assert (11, T) in kinds  # its head stands behind the one before it
    assert kinds.count((10, C)) == 2  # and the unreadable line after it


def test_the_sink_refuses_an_append_that_does_not_follow_the_last_checkpoint(
    chain: Database, sink: FileCheckpointSink, anchor: Checkpointer
) -> None:
    written = anchor.checkpoint("ehr")
    assert written is not None

    with pytest.raises(CheckpointConflict):
        sink.append(written)  # n and prev no longer follow the file's last line
    assert len(_lines(sink)) == 1


def test_a_line_cut_short_stays_apart_from_the_next_checkpoint(
    chain: Database, log: SqlAuditLog, sink: FileCheckpointSink, anchor: Checkpointer
) -> None:
    written = anchor.checkpoint("ehr")
    assert written is not None
    with sink.path("ehr").open("a", encoding="utf-8") as handle:
        handle.write(to_line(written)[:40])  # a crash in the middle of a write
    fill(log, 1)

    anchor.checkpoint("ehr")

    assert [cp.n if cp else None for cp in sink.read("ehr")] == [1, None, 2]


def test_tenant_ids_map_to_file_names_inside_the_folder(sink: FileCheckpointSink) -> None:
    assert sink.path("../a/b").parent == sink.folder
    sink.folder.mkdir()
    sink.path("../a/b").write_text("", encoding="utf-8")

    assert sink.tenants() == ["../a/b"]


def test_an_unusable_anchor_folder_is_a_plain_error(
    chain: Database, provider: LocalKeyProvider, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    sink = FileCheckpointSink(blocked)

    with pytest.raises(AnchorUnavailable) as raised:
        Checkpointer(chain, provider, sink).checkpoint("ehr")
    with pytest.raises(AnchorUnavailable):
        verify_all(chain, provider, sink)
    assert "checkpoint folder cannot be read or written" in raised.value.description
