# SPDX-License-Identifier: Apache-2.0
"""The vault's wrapped data keys as a :class:`~plugin.crypto.interfaces.WrappedKeyStore`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import update

from ..store import Database
from .models import VaultRecord

__all__ = ["VaultKeyStore"]


class VaultKeyStore:
    """Lets the keyring re-wrap vault data keys row by row (rotation, shredding)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def wrapped_keys(self, label: str) -> list[tuple[str, bytes]]:
        with self._db.session() as session:
            rows = session.execute(
                select(VaultRecord.id, VaultRecord.wrapped_dek).where(
                    VaultRecord.kek_label == label, VaultRecord.wrapped_dek.is_not(None)
                )
            ).all()
        return [(str(row_id), bytes(wrapped)) for row_id, wrapped in rows if wrapped is not None]

    def replace_wrapped_key(
        self, row_id: str, old_label: str, new_label: str, wrapped: bytes
    ) -> bool:
        with self._db.session() as session:
            result = session.execute(
                update(VaultRecord)
                .where(VaultRecord.id == row_id, VaultRecord.kek_label == old_label)
                .values(kek_label=new_label, wrapped_dek=wrapped)
            )
            return bool(getattr(result, "rowcount", 0))
