# SPDX-License-Identifier: Apache-2.0
"""Checkpoints in the app: the embedded worker writes them, the admin check reads them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from plugin.admin import AuditAdmin
from plugin.app import audit_checkpointer
from plugin.app import create_app
from plugin.app import start_worker
from plugin.audit import FileCheckpointSink
from plugin.audit import ProblemKind
from plugin.audit.interfaces import AuditSink
from plugin.config import Settings
from plugin.registry import get_service
from plugin.store import Database
from tests.support.servers import make_settings
from tests.unit.plugin.audit.support import fill
from tests.unit.plugin.audit.support import sql
from tests.unit.plugin.support import PUBLIC_URL

ADMIN = "http://127.0.0.1:8700/fhir/Practitioner/admin"


@pytest.fixture
def anchored_app(instance: Path, database_url: str) -> Iterator[Flask]:
    settings = make_settings(
        instance,
        database_url,
        PUBLIC_URL,
        outbox_worker=True,
        audit_checkpoint_interval=0.05,
        reconcile_interval=3600.0,
        audit_anchor_path=instance.parent / "anchors",
    )
    app = create_app(settings)
    yield app
    get_service(Database, app).dispose()


def _sink(app: Flask) -> FileCheckpointSink:
    return FileCheckpointSink(get_service(Settings, app).audit_anchors)


def test_the_embedded_worker_writes_checkpoints(anchored_app: Flask) -> None:
    fill(get_service(AuditSink, anchored_app), 4)
    sink = _sink(anchored_app)

    stop = start_worker(anchored_app)
    try:
        deadline = time.monotonic() + 20
        while not sink.read("ehr") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
    for thread in threading.enumerate():
        if thread.name == "quietline-audit-checkpoint":
            thread.join(timeout=10)

    stored = sink.read("ehr")
    assert [(cp.n, cp.seq, cp.entries) for cp in stored if cp is not None] == [(1, 4, 4)]
    assert sink.folder == get_service(Settings, anchored_app).audit_anchor_path


def test_the_admin_check_reports_a_truncation_behind_a_checkpoint(anchored_app: Flask) -> None:
    db = get_service(Database, anchored_app)
    fill(get_service(AuditSink, anchored_app), 6)
    assert audit_checkpointer(anchored_app).checkpoint("ehr") is not None
    sql(db, "DELETE FROM audit_entries WHERE seq > 3")
    sql(db, "UPDATE audit_heads SET seq = 3, mac = (SELECT mac FROM audit_entries WHERE seq = 3)")

    report = get_service(AuditAdmin, anchored_app).verify("ehr", ADMIN)

    assert [(p.seq, p.kind) for p in report.problems] == [(4, ProblemKind.TRUNCATED)]
    assert report.checkpoints == 1
