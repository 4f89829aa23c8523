# SPDX-License-Identifier: Apache-2.0
"""The tamper-evident audit log: a keyed (HMAC-SHA256) hash chain per tenant.

:class:`SqlAuditLog` appends, :func:`verify_chain` says what was tampered with, and
:func:`export_bundle` renders entries as FHIR R4 AuditEvent resources.
"""

from .export import export_bundle
from .export import to_audit_event
from .interfaces import AuditAction
from .interfaces import AuditEvent
from .interfaces import AuditOutcome
from .interfaces import AuditSink
from .models import AuditEntry
from .models import AuditHead
from .services import AuditRefused
from .services import SqlAuditLog
from .verify import Problem
from .verify import ProblemKind
from .verify import VerifyReport
from .verify import verify_all
from .verify import verify_chain

__all__ = [
    "AuditAction",
    "AuditEntry",
    "AuditEvent",
    "AuditHead",
    "AuditOutcome",
    "AuditRefused",
    "AuditSink",
    "Problem",
    "ProblemKind",
    "SqlAuditLog",
    "VerifyReport",
    "export_bundle",
    "to_audit_event",
    "verify_all",
    "verify_chain",
]
