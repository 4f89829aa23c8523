# SPDX-License-Identifier: Apache-2.0
"""Audit entries as FHIR R4 AuditEvent resources (http://hl7.org/fhir/R4/auditevent.html).

Built with ``fhir.resources.R4B`` (identical to R4 for AuditEvent).  The subject appears only
as ``entity.what.identifier`` holding the keyed pseudonym, never as a Patient reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from ..store import Database
from .interfaces import AuditAction
from .interfaces import AuditEvent
from .interfaces import AuditSink
from .models import AuditEntry

__all__ = [
    "ACTION_SYSTEM",
    "PSEUDONYM_SYSTEM",
    "export_bundle",
    "to_audit_event",
]

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACTION_SYSTEM = "urn:quietline:audit-action"
PSEUDONYM_SYSTEM = "urn:quietline:pseudonym"

# AuditEvent.type (DICOM audit event IDs) by the area part of the tag.
_TYPES = {
    "launch": ("110114", "User Authentication"),
    "vault": ("110110", "Patient Record"),
    "notes": ("110110", "Patient Record"),
    "outbox": ("110106", "Export"),
    "keys": ("110113", "Security Alert"),
    "audit": ("110101", "Audit Log Used"),
    "admin": ("110100", "Application Activity"),
}
# AuditEvent.action: C create, R read, U update, D delete, E execute.
_ACTIONS: dict[str, str] = {
    AuditAction.LAUNCH_START: "E",
    AuditAction.VAULT_WRITE: "C",
    AuditAction.VAULT_READ: "R",
    AuditAction.VAULT_DESTROY: "D",
    AuditAction.VAULT_EXPIRE: "D",
    AuditAction.VAULT_ACCESS_DENIED: "R",
    AuditAction.BREAK_GLASS: "R",
    AuditAction.NOTE_SIGN: "U",
    AuditAction.NOTE_RELEASE_WITHHELD: "U",
    AuditAction.NOTE_LINT_OVERRIDE: "U",
    AuditAction.EHR_WRITE_QUEUED: "C",
    AuditAction.EHR_WRITE_DELIVERED: "C",
    AuditAction.EHR_WRITE_FAILED: "C",
    AuditAction.KEY_CREATE: "C",
    AuditAction.KEY_ROTATE: "U",
    AuditAction.KEY_DESTROY: "D",
    AuditAction.AUDIT_EXPORT: "R",
    AuditAction.AUDIT_VERIFY: "E",
    AuditAction.ADMIN_SETTINGS: "U",
}
# AuditEvent.outcome: 0 success, 4 minor failure, 8 serious failure.  A denial is the
# access-control check working, so it is a minor failure of the user's request.
_OUTCOMES = {"success": "0", "denied": "4", "failure": "8"}


def to_audit_event(entry: AuditEntry) -> FhirAuditEvent:
    """One entry as a validated AuditEvent; ``id`` is ``<seq>`` within the tenant's chain."""
    code, display = _TYPES.get(entry.action.split(":", 1)[0], _TYPES["admin"])
    actor = entry.actor
    who = {"reference": actor} if "/" in actor else {"display": actor}
    details = [{"type": name, "valueString": str(value)} for name, value in entry.detail.items()]
    entity: dict[str, Any] = {}
    if entry.subject is not None:
        entity["what"] = {"identifier": {"system": PSEUDONYM_SYSTEM, "value": entry.subject}}
    if details:
        entity["detail"] = details
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(entry.seq),
        "type": {"system": DCM, "code": code, "display": display},
        "subtype": [{"system": ACTION_SYSTEM, "code": entry.action}],
        "action": _ACTIONS.get(entry.action, "E"),
        "recorded": entry.at.isoformat(),
        "outcome": _OUTCOMES.get(entry.outcome, "8"),
        "outcomeDesc": entry.outcome,
        "agent": [{"who": who, "requestor": True}],
        "source": {"site": entry.tenant_id, "observer": {"display": "Quietline"}},
    }
    if entity:
        resource["entity"] = [entity]
    return FhirAuditEvent.model_validate(resource)


def _entries(
    db: Database, tenant: str, since: datetime | None, until: datetime | None
) -> Iterable[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    with db.session() as session:
        yield from session.scalars(query.order_by(AuditEntry.seq)).yield_per(1000)


def export_bundle(
    db: Database,
    sink: AuditSink,
    tenant: str,
    *,
    actor: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """A ``collection`` Bundle of ``tenant``'s entries with ``since <= at < until``.

    The export itself is then recorded as :attr:`AuditAction.AUDIT_EXPORT` by ``actor``.

    :returns: the Bundle as JSON-ready data.
    """
    resources = [to_audit_event(entry) for entry in _entries(db, tenant, since, until)]
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": datetime.now(UTC).isoformat(),
            "entry": [{"resource": resource} for resource in resources] or None,
        }
    )
    data: dict[str, Any] = json.loads(bundle.model_dump_json())
    sink.record(
        AuditEvent(
            tenant=tenant,
            actor=actor,
            action=AuditAction.AUDIT_EXPORT,
            detail={"count": len(resources)},
        )
    )
    return data
