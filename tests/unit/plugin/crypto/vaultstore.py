# SPDX-License-Identifier: Apache-2.0
"""A small vault table for keyring tests: a real SQL table implementing ``WrappedKeyStore``."""

from __future__ import annotations

from sqlalchemy import Column
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.envelope import RecordAad
from plugin.crypto.envelope import Sealed
from plugin.store import Database

METADATA = MetaData()
RECORDS = Table(
    "test_vault_records",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("kek_label", String(128), nullable=False, index=True),
    Column("wrapped_dek", LargeBinary, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)


def aad_for(tenant: str, record_id: str) -> RecordAad:
    return RecordAad(tenant, record_id, "process_note", "pseudo-" + record_id)


class SqlTestVault:
    """Stores sealed records; re-wrapping swaps only ``kek_label`` and ``wrapped_dek``."""

    def __init__(self, db: Database, cipher: EnvelopeCipher) -> None:
        self.db = db
        self.cipher = cipher
        METADATA.create_all(db.engine)

    def put(self, tenant: str, record_id: str, plaintext: bytes, label: str) -> Sealed:
        sealed = self.cipher.seal(plaintext, kek_label=label, aad=aad_for(tenant, record_id))
        with self.db.engine.begin() as conn:
            conn.execute(
                insert(RECORDS).values(
                    id=record_id,
                    tenant=tenant,
                    kek_label=sealed.kek_label,
                    wrapped_dek=sealed.wrapped_dek,
                    nonce=sealed.nonce,
                    ciphertext=sealed.ciphertext,
                )
            )
        return sealed

    def sealed(self, record_id: str) -> Sealed:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(RECORDS).where(RECORDS.c.id == record_id)).one()
        return Sealed(row.kek_label, row.wrapped_dek, row.nonce, row.ciphertext)

    def tenant_of(self, record_id: str) -> str:
        with self.db.engine.connect() as conn:
            return str(
                conn.execute(select(RECORDS.c.tenant).where(RECORDS.c.id == record_id)).scalar_one()
            )

    def get(self, record_id: str) -> bytes:
        aad = aad_for(self.tenant_of(record_id), record_id)
        return self.cipher.open(self.sealed(record_id), aad=aad)

    def ids(self) -> list[str]:
        with self.db.engine.connect() as conn:
            return sorted(conn.execute(select(RECORDS.c.id)).scalars())

    def delete(self, record_id: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(delete(RECORDS).where(RECORDS.c.id == record_id))

    def wrapped_keys(self, label: str) -> list[tuple[str, bytes]]:
        query = select(RECORDS.c.id, RECORDS.c.wrapped_dek).where(RECORDS.c.kek_label == label)
        with self.db.engine.connect() as conn:
            return [(row.id, row.wrapped_dek) for row in conn.execute(query.order_by(RECORDS.c.id))]

    def replace_wrapped_key(
        self, row_id: str, old_label: str, new_label: str, wrapped: bytes
    ) -> bool:
        statement = (
            update(RECORDS)
            .where(RECORDS.c.id == row_id, RECORDS.c.kek_label == old_label)
            .values(kek_label=new_label, wrapped_dek=wrapped)
        )
        with self.db.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1
