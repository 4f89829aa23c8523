# SPDX-License-Identifier: Apache-2.0
"""PolicyStore: the default protocol, validated saves, versions and the audit of each change."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import AlertRecipient
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.policies import PolicyInvalid
from plugin.codeword.policies import PolicyStore
from plugin.store import Database
from tests.unit.plugin.codeword.support import OTHER_TENANT
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import audit_rows

ADMIN = "Practitioner/admin-1"


@pytest.fixture
def store(wiring: Wiring) -> PolicyStore:
    return wiring.policies


def test_default_until_an_admin_saves(store: PolicyStore) -> None:
    assert store.get(TENANT) == VerificationPolicy()
    assert store.get_versioned(TENANT) == (VerificationPolicy(), 0)


def test_save_stores_versions_and_audits_the_changed_fields(
    store: PolicyStore, cw_db: Database
) -> None:
    first = VerificationPolicy(
        actions=frozenset({Action.RESCHEDULE, Action.CANCEL, Action.BOOK}),
        max_failures=5,
        alert=frozenset({AlertRecipient.CLINICIAN, AlertRecipient.ADMIN}),
    )
    assert store.save(TENANT, first, actor=ADMIN) == ["actions", "max_failures", "alert"]
    assert store.get_versioned(TENANT) == (first, 1)
    assert store.get(OTHER_TENANT) == VerificationPolicy()

    second = replace(first, lockout_minutes=120, second_approval=True)
    assert store.save(TENANT, second, actor=ADMIN) == ["lockout_minutes", "second_approval"]
    assert store.get_versioned(TENANT) == (second, 2)

    entries = audit_rows(cw_db, "codeword:protocol:write")
    assert [(e.tenant_id, e.actor, e.outcome, e.detail) for e in entries] == [
        (TENANT, ADMIN, "success", {"changed": "actions,max_failures,alert", "version": 1}),
        (TENANT, ADMIN, "success", {"changed": "lockout_minutes,second_approval", "version": 2}),
    ]


def test_saving_the_same_settings_writes_nothing(store: PolicyStore, cw_db: Database) -> None:
    assert store.save(TENANT, VerificationPolicy(), actor=ADMIN) == []
    protocol = VerificationPolicy(min_length=10)
    store.save(TENANT, protocol, actor=ADMIN)
    assert store.save(TENANT, protocol, actor=ADMIN) == []
    assert store.get_versioned(TENANT)[1] == 1
    assert len(audit_rows(cw_db, "codeword:protocol:write")) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"max_failures": 0},
            "Failed attempts before the lockout must be a whole number from 1 to 10.",
        ),
        ({"max_failures": 11}, "from 1 to 10"),
        (
            {"lockout_minutes": 4},
            "Lockout length in minutes must be a whole number from 5 to 10080.",
        ),
        ({"lockout_minutes": 10081}, "from 5 to 10080"),
        ({"min_length": 5}, "Shortest code word must be a whole number from 6 to 64."),
        ({"min_length": 65}, "from 6 to 64"),
        (
            {"grant_minutes": 0},
            "Minutes a verification stays usable must be a whole number from 1 to 30.",
        ),
        ({"grant_minutes": 31}, "from 1 to 30"),
        ({"refused_words": ("x" * 65,)}, "at most 64 characters"),
        ({"refused_words": tuple(f"word{n}" for n in range(501))}, "at most 500"),
    ],
)
def test_out_of_range_values_are_refused(
    store: PolicyStore, cw_db: Database, change: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyInvalid, match=message) as caught:
        store.save(TENANT, replace(VerificationPolicy(), **change), actor=ADMIN)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert store.get_versioned(TENANT) == (VerificationPolicy(), 0)
    assert audit_rows(cw_db, "codeword:protocol:write") == []


def test_refused_words_are_normalised_and_deduplicated(store: PolicyStore) -> None:
    words = ("  Riverside ", "RIVERSIDE", "", "Oak   Clinic")
    assert store.save(TENANT, VerificationPolicy(refused_words=words), actor=ADMIN) == [
        "refused_words"
    ]
    assert store.get(TENANT).refused_words == ("riverside", "oak clinic")


def test_concurrent_saves_each_get_a_version(cw_db: Database, wiring: Wiring) -> None:
    stores = [PolicyStore(Database(cw_db.url), wiring.audit) for _ in range(4)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait(timeout=10)
            stores[n].save(TENANT, VerificationPolicy(max_failures=n + 4), actor=ADMIN)
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for each in stores:
        each._db.dispose()

    assert errors == []
    versions = sorted(
        int(e.detail["version"]) for e in audit_rows(cw_db, "codeword:protocol:write")
    )
    assert versions == [1, 2, 3, 4]
    assert store_version(wiring) == 4


def store_version(wiring: Wiring) -> int:
    return wiring.policies.get_versioned(TENANT)[1]


def test_the_treating_clinician_is_always_alerted() -> None:
    assert VerificationPolicy(alert=frozenset()).alert == {AlertRecipient.CLINICIAN}
    admins = VerificationPolicy.from_dict({"alert": ["admin"]})
    assert admins.alert == {AlertRecipient.CLINICIAN, AlertRecipient.ADMIN}
