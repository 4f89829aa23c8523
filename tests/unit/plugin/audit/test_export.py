# SPDX-License-Identifier: Apache-2.0
"""Export: FHIR R4 AuditEvent resources in a collection Bundle, with no patient reference."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from fhir.resources.R4B.bundle import Bundle

from plugin.audit import AuditAction
from plugin.audit import SqlAuditLog
from plugin.audit import export_bundle
from plugin.audit import verify_chain
from plugin.audit.export import PSEUDONYM_SYSTEM
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.audit.support import ACTOR
from tests.unit.plugin.audit.support import event
from tests.unit.plugin.audit.support import seqs
from tests.unit.plugin.audit.support import sql


def test_entries_export_as_valid_audit_events(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    log.record(event(1, subject="pseudo-abc"))
    log.record(event(2, action=AuditAction.VAULT_ACCESS_DENIED, outcome="denied"))
    log.record(event(3, action=AuditAction.KEY_ROTATE, outcome="failure", subject=None, detail={}))

    data = export_bundle(audit_db, log, "ehr", actor="cli:admin")

    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    resources = [FhirAuditEvent.model_validate(e["resource"]) for e in data["entry"]]
    assert [r.outcome for r in resources] == ["0", "4", "8"]
    assert [r.action for r in resources] == ["R", "R", "U"]
    first = resources[0]
    assert first.type.code == "110110"
    assert first.subtype[0].code == "vault:record:read"
    assert first.agent[0].who.reference == ACTOR
    assert first.agent[0].requestor is True
    assert first.source.observer.display == "Quietline"
    assert first.entity[0].what.identifier.system == PSEUDONYM_SYSTEM
    assert first.entity[0].what.identifier.value == "pseudo-abc"
    assert first.entity[0].what.reference is None
    assert first.recorded.tzinfo is not None
    assert resources[2].entity is None
    text = json.dumps(data)
    assert "Patient/" not in text
    assert text.count('"reference"') == 3  # the three agents, nothing else


def test_export_is_itself_audited_and_the_chain_still_verifies(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    log.record(event(1))
    log.record(event(2))

    data = export_bundle(audit_db, log, "ehr", actor="cli:admin")

    assert len(data["entry"]) == 2
    assert seqs(audit_db) == [1, 2, 3]
    again = export_bundle(audit_db, log, "ehr", actor="cli:admin")
    last = again["entry"][-1]["resource"]
    assert last["subtype"][0]["code"] == "audit:log:export"
    assert last["agent"][0]["who"] == {"display": "cli:admin"}
    assert last["entity"][0]["detail"] == [{"type": "count", "valueString": "2"}]
    assert verify_chain(audit_db, provider, "ehr").ok


def test_export_limits_to_the_time_range_and_tenant(
    log: SqlAuditLog, audit_db: Database, provider: LocalKeyProvider
) -> None:
    for n in range(1, 4):
        log.record(event(n))
    log.record(event(9, tenant="other"))
    sql(
        audit_db,
        "UPDATE audit_entries SET at = :at WHERE seq = 1",
        at=datetime(2025, 1, 1, 12, tzinfo=UTC),
    )
    now = datetime.now(UTC)

    data = export_bundle(
        audit_db,
        log,
        "ehr",
        actor="cli:admin",
        since=now - timedelta(hours=1),
        until=now + timedelta(hours=1),
    )

    assert [e["resource"]["id"] for e in data["entry"]] == ["2", "3"]
    older = export_bundle(
        audit_db, log, "ehr", actor="cli:admin", since=datetime(2024, 12, 31, tzinfo=UTC),
        until=datetime(2025, 1, 2, tzinfo=UTC),
    )  # fmt: skip
    assert [e["resource"]["id"] for e in older["entry"]] == ["1"]
    empty = export_bundle(audit_db, log, "nobody", actor="cli:admin")
    assert "entry" not in empty
