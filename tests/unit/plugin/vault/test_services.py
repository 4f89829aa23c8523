# SPDX-License-Identifier: Apache-2.0
"""The vault on both key providers (local file and PKCS#11 on SoftHSM2), on both databases."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from plugin.audit.models import AuditEntry
from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.envelope import RecordAad
from plugin.crypto.envelope import Sealed
from plugin.crypto.envelope import VaultIntegrityError
from plugin.crypto.interfaces import KeyDestroyed
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.interfaces import KeyProviderError
from plugin.crypto.keyring import Keyring
from plugin.errors import Forbidden
from plugin.store import Database
from plugin.vault.models import Notice
from plugin.vault.models import VaultRecord
from plugin.vault.services import RecordGone
from plugin.vault.services import RetentionPolicy
from plugin.vault.services import VaultService
from tests.unit.plugin.vault.conftest import TENANT

AUTHOR = "Practitioner/therapist"
OTHER = "Practitioner/locum"


def _put(
    vault: VaultService, db: Database, content: dict[str, str], record_type: str = "process-note"
) -> str:
    with db.session() as session:
        return vault.put(session, tenant=TENANT, patient_id="pat-1", record_type=record_type,
                         author=AUTHOR, content=content)  # fmt: skip


def _row(db: Database, record_id: str) -> VaultRecord:
    with db.session() as session:
        row = session.get(VaultRecord, record_id)
        assert row is not None
        return row


def _sealed(row: VaultRecord) -> Sealed:
    assert row.kek_label
    assert row.wrapped_dek
    assert row.nonce
    assert row.ciphertext
    return Sealed(row.kek_label, bytes(row.wrapped_dek), bytes(row.nonce), bytes(row.ciphertext))


def _actions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_put_and_read_by_the_treating_clinician(vault: VaultService, vault_db: Database) -> None:
    record_id = _put(vault, vault_db, {"text": "kept in the vault"})
    assert vault.read(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=AUTHOR) == {
        "text": "kept in the vault"
    }
    row = _row(vault_db, record_id)
    assert row.patient_pseudonym != "pat-1"
    assert b"kept in the vault" not in bytes(row.ciphertext or b"")
    vault_actions = [a for a in _actions(vault_db) if a.startswith("vault:")]
    assert vault_actions == ["vault:record:write", "vault:record:read"]
    assert "keys:kek:create" in _actions(vault_db)


def test_record_is_bound_to_its_patient(vault: VaultService, vault_db: Database) -> None:
    record_id = _put(vault, vault_db, {"text": "x"})
    with pytest.raises(Exception, match="no such record"):
        vault.read(tenant=TENANT, patient_id="pat-2", record_id=record_id, actor=AUTHOR)


def test_other_clinician_is_refused_then_breaks_the_glass(
    vault: VaultService, vault_db: Database
) -> None:
    record_id = _put(vault, vault_db, {"text": "sensitive"})
    with pytest.raises(Forbidden):
        vault.read(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=OTHER)
    content = vault.read(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=OTHER,
                         break_glass_reason="client in crisis")  # fmt: skip
    assert content == {"text": "sensitive"}
    notices = vault.notices.take_notices(TENANT, AUTHOR)
    assert [(n.kind, n.actor, n.record_id) for n in notices] == [("break-glass", OTHER, record_id)]
    assert vault.notices.take_notices(TENANT, AUTHOR) == []  # handed over once
    actions = _actions(vault_db)
    assert "vault:record:deny" in actions
    assert "vault:record:break-glass" in actions
    with vault_db.session() as session:
        reasons = session.scalars(
            select(VaultRecord).where(VaultRecord.record_type == "access-reason")
        ).all()
    assert len(reasons) == 1
    assert b"client in crisis" not in bytes(reasons[0].ciphertext or b"")


def test_tampered_ciphertext_is_a_clear_error_and_the_row_is_untouched(
    vault: VaultService, vault_db: Database
) -> None:
    record_id = _put(vault, vault_db, {"text": "original"})
    before = _row(vault_db, record_id)
    tampered = bytes(before.ciphertext or b"")
    tampered = tampered[:-1] + bytes([tampered[-1] ^ 1])
    with vault_db.session() as session:
        session.execute(
            update(VaultRecord).where(VaultRecord.id == record_id).values(ciphertext=tampered)
        )
    with pytest.raises(VaultIntegrityError) as caught:
        vault.read(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=AUTHOR)
    assert caught.value.description
    after = _row(vault_db, record_id)
    assert bytes(after.ciphertext or b"") == tampered
    assert after.wrapped_dek == before.wrapped_dek
    assert after.destroyed_at is None


def test_truncated_ciphertext_is_refused(vault: VaultService, vault_db: Database) -> None:
    record_id = _put(vault, vault_db, {"text": "original"})
    with vault_db.session() as session:
        session.execute(
            update(VaultRecord).where(VaultRecord.id == record_id).values(ciphertext=b"\x00" * 5)
        )
    with pytest.raises(VaultIntegrityError):
        vault.read(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=AUTHOR)


def test_destroyed_record_cannot_be_opened_even_from_a_copy_taken_before(
    vault: VaultService, vault_db: Database, provider: KeyProvider
) -> None:
    doomed = _put(vault, vault_db, {"text": "destroy me"})
    kept = _put(vault, vault_db, {"text": "keep me"})
    copy = _sealed(_row(vault_db, doomed))  # a backup of the database taken before the destroy
    vault.destroy(tenant=TENANT, patient_id="pat-1", record_id=doomed, actor=AUTHOR)

    row = _row(vault_db, doomed)
    assert row.ciphertext is None
    assert row.wrapped_dek is None
    assert row.destroyed_at is not None
    with pytest.raises(RecordGone):
        vault.read(tenant=TENANT, patient_id="pat-1", record_id=doomed, actor=AUTHOR)
    envelope = EnvelopeCipher(provider)
    subject = vault.pseudonym(TENANT, "pat-1")
    with pytest.raises(KeyDestroyed):
        envelope.open(copy, aad=RecordAad(TENANT, doomed, "process-note", subject))
    # ... and under no key the provider still holds.
    for label in provider.labels("q/"):
        with pytest.raises((KeyProviderError, VaultIntegrityError)):
            envelope.open(Sealed(label, copy.wrapped_dek, copy.nonce, copy.ciphertext),
                          aad=RecordAad(TENANT, doomed, "process-note", subject))  # fmt: skip
    assert vault.read(tenant=TENANT, patient_id="pat-1", record_id=kept, actor=AUTHOR) == {
        "text": "keep me"
    }
    assert "vault:record:destroy" in _actions(vault_db)


def test_only_the_author_destroys(vault: VaultService, vault_db: Database) -> None:
    record_id = _put(vault, vault_db, {"text": "x"})
    with pytest.raises(Forbidden):
        vault.destroy(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=OTHER)
    assert _row(vault_db, record_id).ciphertext is not None


def test_retention_expiry_crypto_shreds_the_period(
    vault: VaultService, vault_db: Database, retention: dict[str, RetentionPolicy]
) -> None:
    retention[TENANT] = RetentionPolicy(default_days=1)
    short = _put(vault, vault_db, {"text": "short-lived"})
    retention[TENANT] = RetentionPolicy(default_days=400)
    long = _put(vault, vault_db, {"text": "long-lived"})
    expired = vault.expire(datetime.now(UTC) + timedelta(days=62))
    assert expired == 1
    assert _row(vault_db, short).destroyed_reason == "expired"
    with pytest.raises(RecordGone):
        vault.read(tenant=TENANT, patient_id="pat-1", record_id=short, actor=AUTHOR)
    assert vault.read(tenant=TENANT, patient_id="pat-1", record_id=long, actor=AUTHOR) == {
        "text": "long-lived"
    }
    assert "vault:record:expire" in _actions(vault_db)


def test_rotation_rewraps_without_touching_ciphertext(
    vault: VaultService, vault_db: Database, provider: KeyProvider
) -> None:
    record_id = _put(vault, vault_db, {"text": "rotate around me"})
    before = _row(vault_db, record_id)
    report = Keyring(vault_db, provider).rotate([vault.keystore])
    after = _row(vault_db, record_id)
    assert report.rewrapped == 1
    assert after.ciphertext == before.ciphertext
    assert after.kek_label != before.kek_label
    assert not provider.has_key(str(before.kek_label))
    assert vault.read(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=AUTHOR) == {
        "text": "rotate around me"
    }


def test_no_plaintext_in_any_vault_column(vault: VaultService, vault_db: Database) -> None:
    _put(vault, vault_db, {"text": "PLAINTEXT-CANARY"})
    with vault_db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM vault_records")).all()
        rows += conn.execute(text("SELECT * FROM audit_entries")).all()
    dump = repr(rows)
    assert "PLAINTEXT-CANARY" not in dump
    assert "pat-1" not in dump


def test_notice_rows_name_no_patient(vault: VaultService, vault_db: Database) -> None:
    record_id = _put(vault, vault_db, {"text": "x"})
    vault.read(
        tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=OTHER, break_glass_reason="r"
    )
    with vault_db.session() as session:
        notice = session.scalars(select(Notice)).one()
    assert "pat-1" not in repr(vars(notice))


def test_take_notices_of_some_kinds_leaves_the_others(
    vault: VaultService, vault_db: Database
) -> None:
    record_id = _put(vault, vault_db, {"text": "sensitive"})
    vault.read(tenant=TENANT, patient_id="pat-1", record_id=record_id, actor=OTHER,
               break_glass_reason="client in crisis")  # fmt: skip
    with vault_db.session() as session:
        session.add(
            Notice(
                id="n-verify",
                tenant_id=TENANT,
                recipient=AUTHOR,
                kind="verification-failed",
                subject=vault.pseudonym(TENANT, "pat-1"),
                actor="system",
                created_at=datetime.now(UTC),
            )
        )
    taken = vault.notices.take_notices(TENANT, AUTHOR, kinds=("break-glass",))
    assert [n.kind for n in taken] == ["break-glass"]
    assert [n.kind for n in vault.notices.take_notices(TENANT, AUTHOR)] == ["verification-failed"]
