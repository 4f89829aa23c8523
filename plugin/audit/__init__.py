# SPDX-License-Identifier: Apache-2.0
"""The tamper-evident audit log: a keyed (HMAC-SHA256) hash chain per tenant.

:class:`SqlAuditLog` appends, :class:`Checkpointer` signs the chain's head into write-once
storage outside the database (:class:`FileCheckpointSink`), :func:`verify_chain` says what was
tampered with, and :func:`export_bundle` renders entries as FHIR R4 AuditEvent resources.
"""

from .anchoring import Checkpointer
from .checkpoints import CheckpointError
from .checkpoints import CheckpointRefused
from .checkpoints import FileCheckpointSink
from .export import export_bundle
from .export import to_audit_event
from .interfaces import AuditAction
from .interfaces import AuditEvent
from .interfaces import AuditOutcome
from .interfaces import AuditSink
from .interfaces import Checkpoint
from .interfaces import CheckpointSink
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
    "Checkpoint",
    "CheckpointError",
    "CheckpointRefused",
    "CheckpointSink",
    "Checkpointer",
    "FileCheckpointSink",
    "Problem",
    "ProblemKind",
    "SqlAuditLog",
    "VerifyReport",
    "export_bundle",
    "to_audit_event",
    "verify_all",
    "verify_chain",
]
