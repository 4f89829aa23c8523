# SPDX-License-Identifier: Apache-2.0
"""Appointment changes and verifications that mix two clients, against the sandbox EHR: the
appointment's patient is checked before a word is checked and again on every version read
before the write, and each refusal is audited and alerted to the treating clinicians."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.resource import Resource
from sqlalchemy import select

from plugin.codeword.alerts import COMMUNICATION_TEXT
from plugin.codeword.appointments import AppointmentChanger
from plugin.codeword.errors import NotChangeable
from plugin.codeword.errors import NotThisClient
from plugin.codeword.interfaces import Action
from plugin.codeword.services import GrantOtherClient
from plugin.codeword.services import GrantUsed
from plugin.vault.models import Notice
from smart_launch.fhir import FhirClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.codeword.ehr_support import NEXT
from tests.unit.plugin.codeword.ehr_support import OTHERS
from tests.unit.plugin.codeword.ehr_support import appointment_puts
from tests.unit.plugin.codeword.ehr_support import grant_states
from tests.unit.plugin.codeword.ehr_support import grant_token
from tests.unit.plugin.codeword.ehr_support import interfering
from tests.unit.plugin.codeword.ehr_support import move
from tests.unit.plugin.codeword.ehr_support import stored_appointment
from tests.unit.plugin.codeword.support import CLINICIAN
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import SECOND_CLINICIAN
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import change_entries
from tests.unit.plugin.codeword.support import enroll
from tests.unit.plugin.codeword.support import outbox_payloads

MISMATCH = "appointment-not-this-client"


def _mismatch_notices(wiring: Wiring) -> list[tuple[str, str | None]]:
    with wiring.db.session() as session:
        rows = session.scalars(select(Notice).where(Notice.kind == MISMATCH)).all()
        return sorted((row.recipient, row.subject) for row in rows)


def test_another_clients_appointment_is_refused_and_the_grant_spent(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    enroll(wiring.service, "Walnut ferry quartz", patient="pat-2", actor=SECOND_CLINICIAN)
    token = grant_token(wiring, OTHERS)  # the service alone does not read the EHR

    with pytest.raises(NotThisClient) as caught:
        move(changer, fhir, token, appointment_id=OTHERS)
    with pytest.raises(GrantUsed):
        move(changer, fhir, token, appointment_id=OTHERS)
    assert caught.value.description == (
        "This appointment is not one of this client's. Nothing was changed."
    )
    assert appointment_puts(ehr) == []
    assert grant_states(wiring) == ["claimed"]
    service = wiring.service
    own, theirs = service.pseudonym(TENANT, "pat-1"), service.pseudonym(TENANT, "pat-2")
    assert _mismatch_notices(wiring) == sorted([(CLINICIAN, own), (SECOND_CLINICIAN, theirs)])
    entries = change_entries(wiring.db)
    assert sorted((e.outcome, e.subject) for e in entries) == sorted(
        [("denied", own), ("denied", theirs)]
    )
    for entry in entries:
        assert entry.detail["result"] == "not-this-client"
        assert OTHERS not in str(entry.detail)
        assert "pat-" not in str(entry.detail)
    sent = [p for p in outbox_payloads(wiring.db, wiring.outbox_cipher)
            if p["resourceType"] == "Communication"]  # fmt: skip
    assert sorted((m["recipient"][0]["reference"], m["subject"]["reference"]) for m in sent) == [
        (CLINICIAN, "Patient/pat-1"),
        (SECOND_CLINICIAN, "Patient/pat-2"),
    ]
    assert {m["payload"][0]["contentString"] for m in sent} == {COMMUNICATION_TEXT[MISMATCH]}


def _reassign(appointment: Resource) -> Resource:
    for participant in appointment.participant or []:  # type: ignore[attr-defined]
        if str(participant.actor.reference).startswith("Patient/"):
            participant.actor.reference = "Patient/pat-2"
    return appointment


def test_an_appointment_given_to_another_client_meanwhile_is_refused_on_the_re_read(
    wiring: Wiring, changer: AppointmentChanger, ehr: RunningSandbox, client_keys: ClientKeys
) -> None:
    racing = interfering(ehr, client_keys, _reassign)

    with pytest.raises(NotThisClient):
        move(changer, racing, grant_token(wiring))

    puts = appointment_puts(ehr)
    assert len(puts) == 2  # the other client's change, then ours refused with 412; no third
    after = stored_appointment(ehr)
    assert "2031" not in after["start"]
    own, theirs = (wiring.service.pseudonym(TENANT, p) for p in ("pat-1", "pat-2"))
    entries = change_entries(wiring.db)
    assert sorted((e.outcome, e.detail["result"], e.subject) for e in entries) == sorted(
        [("denied", "not-this-client", own), ("denied", "not-this-client", theirs)]
    )
    assert _mismatch_notices(wiring) == [(CLINICIAN, own)]  # pat-2 has no treating clinician


def test_a_grant_of_another_client_is_refused_before_the_ehr_is_read(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = grant_token(wiring)  # pat-1's grant for pat-1's appointment
    reads_before = len(ehr.request_log.matching("/fhir/Appointment/", "GET"))

    with pytest.raises(GrantOtherClient):
        move(changer, fhir, token, patient_id="pat-2")

    assert len(ehr.request_log.matching("/fhir/Appointment/", "GET")) == reads_before
    assert appointment_puts(ehr) == []
    assert grant_states(wiring) == ["issued"]
    [entry] = change_entries(wiring.db)
    assert (entry.outcome, entry.detail["result"]) == ("denied", "other-client")
    assert entry.subject == wiring.service.pseudonym(TENANT, "pat-2")


def test_the_client_is_checked_before_a_verification(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    check = {"tenant": TENANT, "patient_id": "pat-1", "staff": FRONT_DESK,
             "action": Action.CANCEL}  # fmt: skip

    changer.check_client(fhir, appointment_id=NEXT, **check)
    with pytest.raises(NotThisClient):
        changer.check_client(fhir, appointment_id=OTHERS, **check)
    with pytest.raises(NotChangeable):
        changer.check_client(fhir, appointment_id="no-such-appointment", **check)

    own, theirs = (wiring.service.pseudonym(TENANT, p) for p in ("pat-1", "pat-2"))
    detail = {"action": "cancel", "result": "not-this-client",
              "appointment": wiring.service.appointment_key(TENANT, OTHERS)[:16]}  # fmt: skip
    entries = audit_rows(wiring.db, "codeword:word:verify")
    assert sorted((e.outcome, e.subject) for e in entries) == sorted(
        [("denied", own), ("denied", theirs)]
    )
    assert all(e.detail == detail for e in entries)
    assert _mismatch_notices(wiring) == [(CLINICIAN, own)]
    assert appointment_puts(ehr) == []
