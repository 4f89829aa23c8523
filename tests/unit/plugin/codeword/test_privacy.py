# SPDX-License-Identifier: Apache-2.0
"""The word, the patient id, the appointment id and grant tokens never reach a column or a log."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import AlertRecipient
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.interfaces import VerifyOutcome
from plugin.crypto.local import LocalKeyProvider
from plugin.store import Database
from tests.unit.plugin.codeword.support import CLINICIAN
from tests.unit.plugin.codeword.support import FACTS
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import SECOND_CLINICIAN
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import all_values
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import wire

CANARY = "Quokka Saffron Umbrella"
CANARY_RESET = "Marmot Juniper Lighthouse"
PATIENT = "pat-canary-7731"
APPOINTMENT = "appt-canary-4410"


def _forms(text: str) -> list[str]:
    lowered = text.lower()
    return [lowered, lowered.replace(" ", ""), lowered.split()[0], lowered.split()[-1]]


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return [raw.decode("latin-1").lower(), raw.hex()]
    if isinstance(value, dict | list):
        return [json.dumps(value).lower()]
    return [str(value).lower()]


def test_no_word_or_identifier_in_columns_audit_or_logs(
    cw_db: Database, keys: LocalKeyProvider, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # statements and parameters
    wiring = wire(cw_db, keys, clock=clock)
    service = wiring.service
    wiring.policies.save(
        TENANT,
        VerificationPolicy(alert=frozenset(AlertRecipient), second_approval=True, max_failures=2),
        actor="Practitioner/admin",
    )
    service.enroll(tenant=TENANT, patient_id=PATIENT, word=CANARY, confirm=CANARY, facts=FACTS,
                   actor=CLINICIAN, client_present=True)  # fmt: skip
    tokens = []

    def attempt(word: str) -> VerifyOutcome:
        result = service.verify(tenant=TENANT, patient_id=PATIENT, word=word,
                                action=Action.RESCHEDULE, appointment_id=APPOINTMENT,
                                staff=FRONT_DESK)  # fmt: skip
        if result.grant is not None:
            tokens.append(result.grant.token)
        return result.outcome

    assert attempt(CANARY.upper()) is VerifyOutcome.GRANTED
    assert attempt(CANARY + "s") is VerifyOutcome.WRONG
    grant = service.claim(tenant=TENANT, token=tokens[0], staff=FRONT_DESK,
                          action=Action.RESCHEDULE, appointment_id=APPOINTMENT,
                          patient_id=PATIENT)  # fmt: skip
    service.complete(tenant=TENANT, grant_id=grant.id, result_version="2")
    assert service.request_reset(tenant=TENANT, patient_id=PATIENT, word=CANARY_RESET,
                                 confirm=CANARY_RESET, facts=FACTS, actor=CLINICIAN,
                                 client_present=True) is False  # fmt: skip
    service.approve_reset(tenant=TENANT, patient_id=PATIENT, approver=SECOND_CLINICIAN)
    assert [attempt(CANARY), attempt(CANARY)] == [VerifyOutcome.WRONG] * 2
    assert attempt(CANARY_RESET) is VerifyOutcome.LOCKED
    service.clear_lockout(tenant=TENANT, patient_id=PATIENT, actor=CLINICIAN)
    assert attempt(CANARY_RESET) is VerifyOutcome.GRANTED

    secrets = [*_forms(CANARY), *_forms(CANARY_RESET), PATIENT, APPOINTMENT, *tokens]
    assert "INSERT INTO codeword_attempts" in caplog.text  # the statements were logged
    log = caplog.text.lower()
    for secret in secrets:
        assert secret.lower() not in log, secret

    entries = audit_rows(cw_db)
    assert {e.action for e in entries} >= {"codeword:word:enroll", "codeword:word:reset",
                                           "codeword:word:approve", "codeword:word:verify",
                                           "codeword:lockout:clear", "codeword:protocol:write"}  # fmt: skip
    seen_columns = 0
    for table, column, value in all_values(cw_db):
        for text in _texts(value):
            seen_columns += 1
            for secret in secrets:
                assert secret.lower() not in text, (table, column, secret)
    assert seen_columns > 100
