# SPDX-License-Identifier: Apache-2.0
"""Retention-period keys: creation, rotation, single-record shredding, expiry (real database)."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from sqlalchemy import select

from plugin.audit.interfaces import AuditAction
from plugin.audit.interfaces import AuditEvent
from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.envelope import Sealed
from plugin.crypto.envelope import VaultIntegrityError
from plugin.crypto.interfaces import KeyDestroyed
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.interfaces import KeyProviderError
from plugin.crypto.keyring import Keyring
from plugin.crypto.keyring import period_end
from plugin.crypto.local import LocalKeyProvider
from plugin.crypto.models import KekVersion
from plugin.store import Database
from tests.unit.plugin.crypto.vaultstore import SqlTestVault
from tests.unit.plugin.crypto.vaultstore import aad_for

MAY = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)
JUNE = datetime(2031, 6, 2, tzinfo=UTC)


class ListAudit:
    """An audit sink that keeps events in a list."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent, *, session: object = None) -> None:
        self.events.append(event)


def _fill(vault: SqlTestVault, label: str, count: int, tenant: str = "t1", tag: str = "r") -> None:
    for n in range(count):
        vault.put(tenant, f"{tag}{n}", f"record {tag}{n}".encode(), label)


def _rows(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        query = select(KekVersion.label, KekVersion.state).order_by(KekVersion.label)
        return [(row.label, row.state) for row in session.execute(query)]


def test_period_end() -> None:
    assert period_end("2031-05") == datetime(2031, 6, 1, tzinfo=UTC)
    assert period_end("2031-12") == datetime(2032, 1, 1, tzinfo=UTC)


def test_label_for_creates_once_per_period(keyring: Keyring, provider: KeyProvider) -> None:
    label = keyring.label_for("t1", MAY)

    assert label == "q/t1/p/2031-05/v1"
    assert keyring.label_for("t1", datetime(2031, 5, 31, 23, 59)) == label  # noqa: DTZ001 - naive = UTC
    assert keyring.label_for("t1", JUNE) == "q/t1/p/2031-06/v1"
    assert keyring.label_for("t2", MAY) == "q/t2/p/2031-05/v1"
    assert provider.labels("q/") == ["q/t1/p/2031-05/v1", "q/t1/p/2031-06/v1", "q/t2/p/2031-05/v1"]


def test_label_for_refuses_a_tenant_with_a_slash(keyring: Keyring) -> None:
    with pytest.raises(KeyProviderError, match="Invalid tenant"):
        keyring.label_for("t1/p/x", MAY)


def test_label_for_under_8_concurrent_callers(
    database_url: str, db: Database, provider: KeyProvider
) -> None:
    barrier = threading.Barrier(8)
    results: list[str] = []
    failures: list[BaseException] = []

    def call() -> None:
        database = Database(database_url)  # one engine each, as separate processes would have
        try:
            barrier.wait()
            results.append(Keyring(database, provider).label_for("t1", MAY))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert set(results) == {"q/t1/p/2031-05/v1"}
    assert provider.labels("q/t1/") == ["q/t1/p/2031-05/v1"]
    assert _rows(db) == [("q/t1/p/2031-05/v1", "active")]


def test_rotation_rewraps_every_row_and_destroys_the_old_key(
    db: Database, provider: KeyProvider, cipher: EnvelopeCipher, vault: SqlTestVault
) -> None:
    audit = ListAudit()
    keyring = Keyring(db, provider, audit)
    may, june = keyring.label_for("t1", MAY), keyring.label_for("t1", JUNE)
    _fill(vault, may, 5, tag="m")
    _fill(vault, june, 3, tag="j")
    copy = vault.sealed("m0")
    opened_during: list[str] = []

    class ReadingVault(SqlTestVault):
        """Reads every record after each single re-wrap, as live traffic would."""

        def replace_wrapped_key(self, row_id: str, old: str, new: str, wrapped: bytes) -> bool:
            done = super().replace_wrapped_key(row_id, old, new, wrapped)
            opened_during.extend(self.get(record) for record in self.ids())  # type: ignore[misc]
            return done

    report = keyring.rotate([ReadingVault(db, cipher)])

    assert report.rotated == [(may, "q/t1/p/2031-05/v2"), (june, "q/t1/p/2031-06/v2")]
    assert (report.rewrapped, report.skipped, report.unreadable) == (8, 0, 0)
    assert report.destroyed == [may, june]
    assert len(opened_during) == 8 * 8
    assert provider.labels("q/t1/") == ["q/t1/p/2031-05/v2", "q/t1/p/2031-06/v2"]
    assert _rows(db) == [
        (may, "destroyed"),
        ("q/t1/p/2031-05/v2", "active"),
        (june, "destroyed"),
        ("q/t1/p/2031-06/v2", "active"),
    ]
    assert [vault.get(record) for record in vault.ids()] == [
        f"record {r}".encode() for r in ["j0", "j1", "j2", "m0", "m1", "m2", "m3", "m4"]
    ]
    assert vault.sealed("m0").ciphertext == copy.ciphertext  # data was not re-encrypted
    with pytest.raises(KeyDestroyed):
        cipher.open(copy, aad=aad_for("t1", "m0"))
    assert keyring.label_for("t1", MAY) == "q/t1/p/2031-05/v2"
    actions = [event.action for event in audit.events]
    assert actions.count(AuditAction.KEY_CREATE) == 4
    assert actions.count(AuditAction.KEY_ROTATE) == 2
    assert actions.count(AuditAction.KEY_DESTROY) == 2
    assert {event.actor for event in audit.events} == {"system"}


def test_rotation_of_one_tenant_leaves_others(
    keyring: Keyring, provider: KeyProvider, vault: SqlTestVault
) -> None:
    keyring.label_for("t1", MAY)
    other = keyring.label_for("t2", MAY)

    report = keyring.rotate([vault], tenant="t1", actor="Practitioner/admin")

    assert report.destroyed == ["q/t1/p/2031-05/v1"]
    assert provider.has_key(other)


def test_interrupted_rotation_is_finished_by_the_next(
    db: Database, keyring: Keyring, cipher: EnvelopeCipher, vault: SqlTestVault
) -> None:
    may = keyring.label_for("t1", MAY)
    _fill(vault, may, 4)

    class FailingVault(SqlTestVault):
        calls = 0

        def replace_wrapped_key(self, row_id: str, old: str, new: str, wrapped: bytes) -> bool:
            FailingVault.calls += 1
            if FailingVault.calls == 3:
                raise ConnectionError("database went away")
            return super().replace_wrapped_key(row_id, old, new, wrapped)

    with pytest.raises(ConnectionError):
        keyring.rotate([FailingVault(db, cipher)])
    assert _rows(db) == [(may, "retired"), ("q/t1/p/2031-05/v2", "active")]
    assert [vault.get(r) for r in vault.ids()] == [f"record r{n}".encode() for n in range(4)]

    report = keyring.rotate([vault])

    assert report.destroyed == [may, "q/t1/p/2031-05/v2"]
    assert _rows(db)[-1] == ("q/t1/p/2031-05/v3", "active")
    assert [vault.get(r) for r in vault.ids()] == [f"record r{n}".encode() for n in range(4)]


def test_shred_record_holds_against_every_remaining_key_and_an_old_copy(
    db: Database, provider: KeyProvider, cipher: EnvelopeCipher, vault: SqlTestVault
) -> None:
    keyring = Keyring(db, provider)
    may = keyring.label_for("t1", MAY)
    keyring.label_for("t1", JUNE)
    _fill(vault, may, 4)
    backup = vault.sealed("r2")  # a database copy taken before the shred

    vault.delete("r2")  # the caller deletes the ciphertext first
    report = keyring.shred_record([vault], may, "r2")

    assert (report.destroyed_label, report.new_label, report.rewrapped) == (
        may,
        "q/t1/p/2031-05/v2",
        3,
    )
    assert [vault.get(r) for r in vault.ids()] == [b"record r0", b"record r1", b"record r3"]
    remaining = provider.labels()
    assert remaining == ["q/t1/p/2031-05/v2", "q/t1/p/2031-06/v1"]
    for label in [may, *remaining]:
        with pytest.raises((KeyDestroyed, VaultIntegrityError)):
            cipher.open(
                Sealed(label, backup.wrapped_dek, backup.nonce, backup.ciphertext),
                aad=aad_for("t1", "r2"),
            )
        with pytest.raises(KeyProviderError):
            provider.unwrap(label, backup.wrapped_dek)


def test_shredded_key_bytes_are_gone_from_the_key_file(
    db: Database, local_provider: LocalKeyProvider, tmp_path: Path
) -> None:
    cipher = EnvelopeCipher(local_provider)
    vault = SqlTestVault(db, cipher)
    keyring = Keyring(db, local_provider)
    may = keyring.label_for("t1", MAY)
    _fill(vault, may, 3)
    backup = vault.sealed("r1")
    vault.delete("r1")

    keyring.shred_record([vault], may, "r1")

    raw = json.loads(local_provider.path.read_text())["keys"]
    assert may not in raw
    for entry in raw.values():  # try every remaining key's raw bytes directly
        with pytest.raises(InvalidUnwrap):
            aes_key_unwrap(base64.b64decode(entry["key"]), backup.wrapped_dek)


def test_shred_of_a_destroyed_or_unknown_label(keyring: Keyring, vault: SqlTestVault) -> None:
    may = keyring.label_for("t1", MAY)
    keyring.shred_record([vault], may, "r0")

    assert keyring.shred_record([vault], may, "r0").new_label is None
    with pytest.raises(KeyProviderError, match="Unknown key label"):
        keyring.shred_record([vault], "q/t9/p/2031-05/v1", "r0")


def test_expire_destroys_past_periods_only(
    db: Database, provider: KeyProvider, cipher: EnvelopeCipher, vault: SqlTestVault
) -> None:
    audit = ListAudit()
    keyring = Keyring(db, provider, audit)
    jan = keyring.label_for("t1", datetime(2031, 1, 31, 23, 59, tzinfo=UTC))
    feb = keyring.label_for("t2", datetime(2031, 2, 10, tzinfo=UTC))
    mar = keyring.label_for("t1", datetime(2031, 3, 1, tzinfo=UTC))
    _fill(vault, jan, 2, tag="j")
    _fill(vault, mar, 1, tenant="t1", tag="m")

    destroyed = keyring.expire(datetime(2031, 3, 1, 0, 0), [vault])  # noqa: DTZ001 - naive = UTC

    assert destroyed == [jan, feb]
    assert provider.labels("q/") == [mar]
    with pytest.raises(KeyDestroyed):
        vault.get("j0")
    assert vault.get("m0") == b"record m0"
    assert keyring.expire(datetime(2031, 3, 1, tzinfo=UTC), [vault]) == []
    details = [event.detail for event in audit.events if event.action == AuditAction.KEY_DESTROY]
    assert details == [
        {"label": jan, "reason": "expired", "rows": 2},
        {"label": feb, "reason": "expired", "rows": 0},
    ]


def test_status(keyring: Keyring, provider: KeyProvider, vault: SqlTestVault) -> None:
    keyring.label_for("t1", MAY)
    keyring.rotate([vault])
    provider.destroy_key("q/t1/p/2031-05/v2")  # drift: the provider lost an active key

    status = keyring.status()

    assert [(s.label, s.state, s.in_provider) for s in status] == [
        ("q/t1/p/2031-05/v1", "destroyed", False),
        ("q/t1/p/2031-05/v2", "active", False),
    ]
    assert status[0].destroyed_at is not None
    assert status[1].period == "2031-05"
    assert status[1].version == 2
    assert keyring.status(tenant="t2") == []
