# SPDX-License-Identifier: Apache-2.0
"""SqlProtectedClients: enrolled clients are protected, by pseudonym and per tenant."""

from __future__ import annotations

from sqlalchemy import select

from plugin.codeword.models import CodewordRow
from plugin.codeword.protected import SqlProtectedClients
from tests.unit.plugin.codeword.support import OTHER_TENANT
from tests.unit.plugin.codeword.support import PATIENT
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import enroll


def _protected(wiring: Wiring) -> SqlProtectedClients:
    return SqlProtectedClients(wiring.db, wiring.pseudonyms)


def test_an_enrolled_client_is_protected(wiring: Wiring) -> None:
    enroll(wiring.service)

    assert _protected(wiring).is_protected(TENANT, PATIENT)


def test_a_client_without_a_word_is_not(wiring: Wiring) -> None:
    enroll(wiring.service)

    assert not _protected(wiring).is_protected(TENANT, "pat-2")
    assert not _protected(wiring).is_protected(OTHER_TENANT, PATIENT)


def test_any_of_several_merged_records_counts(wiring: Wiring) -> None:
    enroll(wiring.service)
    protected = _protected(wiring)

    assert protected.any_protected(TENANT, ["pat-old", PATIENT])
    assert not protected.any_protected(TENANT, ["pat-old", "pat-other"])
    assert not protected.any_protected(TENANT, [])


def test_the_lookup_runs_in_the_callers_transaction(wiring: Wiring) -> None:
    enroll(wiring.service)

    with wiring.db.session() as session:
        assert _protected(wiring).any_protected(TENANT, [PATIENT], session=session)


def test_the_patient_id_never_reaches_the_table(wiring: Wiring) -> None:
    enroll(wiring.service)

    with wiring.db.session() as session:
        (row,) = session.scalars(select(CodewordRow)).all()
    assert PATIENT not in row.patient_pseudonym
    assert row.patient_pseudonym == wiring.pseudonyms.pseudonym(TENANT, f"Patient/{PATIENT}")
