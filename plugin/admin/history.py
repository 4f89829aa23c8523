# SPDX-License-Identifier: Apache-2.0
"""What the admin's protocol page shows besides the settings: version and last change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..codeword.models import CodewordProtocolRow
from ..store import Database

__all__ = ["ProtocolHistory", "protocol_history"]


@dataclass(frozen=True)
class ProtocolHistory:
    """The saved protocol's version and who changed it last (``version`` 0: never saved)."""

    version: int
    updated_by: str | None
    updated_at: datetime | None


def protocol_history(db: Database, tenant: str) -> ProtocolHistory:
    with db.session() as session:
        row = session.get(CodewordProtocolRow, tenant)
        if row is None:
            return ProtocolHistory(0, None, None)
        return ProtocolHistory(row.version, row.updated_by, row.updated_at)
