# SPDX-License-Identifier: Apache-2.0
"""Administration pages: the audit log (list, filter, verify) and the verification protocol."""

from .services import AuditAdmin

__all__ = ["AuditAdmin"]
