# SPDX-License-Identifier: Apache-2.0
"""AppointmentChanger against the real sandbox EHR (If-Match required) over HTTP.

Grants come from the real :class:`CodewordService` (fast argon2 parameters, injected clock).
Concurrent changes in the EHR are made for real, by a second client, from a response hook on
the changer's HTTP session: right after the changer read the appointment, before it writes.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from fhir.resources.R4B.resource import Resource
from sqlalchemy import select

from plugin.codeword.appointments import AppointmentChanger
from plugin.codeword.errors import ChangeConflict
from plugin.codeword.errors import EhrUnavailable
from plugin.codeword.errors import NotChangeable
from plugin.codeword.interfaces import Action
from plugin.codeword.models import CodewordGrant
from plugin.codeword.services import GrantExpired
from plugin.codeword.services import GrantInvalid
from plugin.codeword.services import GrantUsed
from plugin.outbox.worker import OutboxWorker
from smart_launch.fhir import FhirClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.unit.plugin.codeword.ehr_support import LATER
from tests.unit.plugin.codeword.ehr_support import NEXT
from tests.unit.plugin.codeword.ehr_support import appointment_puts
from tests.unit.plugin.codeword.ehr_support import ehr_client
from tests.unit.plugin.codeword.ehr_support import grant_states
from tests.unit.plugin.codeword.ehr_support import grant_token
from tests.unit.plugin.codeword.ehr_support import interfering
from tests.unit.plugin.codeword.ehr_support import move
from tests.unit.plugin.codeword.ehr_support import stored_appointment
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import SECOND_DESK
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import change_entries

CANCEL_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"


def test_reschedule_writes_with_if_match_and_keeps_the_length(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    before = stored_appointment(ehr)
    result = move(changer, fhir, grant_token(wiring))

    after = stored_appointment(ehr)
    assert after["start"] == "2031-05-06T09:30:00Z"
    assert after["end"] == "2031-05-06T10:20:00Z"
    assert after["minutesDuration"] == 50
    assert after["status"] == "booked"
    (put,) = appointment_puts(ehr)
    assert put.headers["If-Match"] == f'W/"{before["meta"]["versionId"]}"'
    assert result.version_id == after["meta"]["versionId"]
    with wiring.db.session() as session:
        (grant,) = session.scalars(select(CodewordGrant))
        assert (grant.state, grant.result_version) == ("used", result.version_id)
    (intent,) = change_entries(wiring.db, "intent")
    (entry,) = change_entries(wiring.db, "written")
    assert intent.seq < entry.seq
    assert intent.detail["grant"] == entry.detail["grant"]
    assert entry.actor == FRONT_DESK
    assert entry.detail["action"] == "reschedule"
    assert entry.detail["grant"] == result.grant_id
    assert entry.detail["appointment"] == wiring.service.appointment_key(TENANT, NEXT)[:16]
    assert NEXT not in str(entry.detail)


def test_an_explicit_end_sets_the_new_length(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    start = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
    move(changer, fhir, grant_token(wiring), new_start=start, new_end=start + timedelta(minutes=90))

    after = stored_appointment(ehr)
    assert (after["end"], after["minutesDuration"]) == ("2031-05-06T10:30:00Z", 90)


def test_cancel_sets_status_and_cancelation_reason(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = grant_token(wiring, LATER, Action.CANCEL)
    changer.cancel(fhir, tenant=TENANT, patient_id="pat-1", appointment_id=LATER, token=token,
                   staff=FRONT_DESK, reason="prov")  # fmt: skip

    after = stored_appointment(ehr, LATER)
    assert after["status"] == "cancelled"
    assert after["cancelationReason"] == {
        "coding": [{"system": CANCEL_SYSTEM, "code": "prov", "display": "Provider"}]
    }
    assert stored_appointment(ehr)["status"] == "booked"


def test_the_provenance_is_delivered_by_the_outbox_worker(
    wiring: Wiring,
    changer: AppointmentChanger,
    fhir: FhirClient,
    ehr: RunningSandbox,
    client_keys: ClientKeys,
    clock: Clock,
) -> None:
    result = move(changer, fhir, grant_token(wiring))
    worker = OutboxWorker(
        wiring.db, wiring.outbox_cipher, lambda tenant: ehr_client(ehr, client_keys), clock=clock
    )

    assert worker.run_once() == 1

    (post,) = ehr.request_log.matching("/fhir/Provenance", "POST")
    target = f"Appointment/{NEXT}/_history/{result.version_id}"
    assert post.headers["If-None-Exist"] == f"target={target}"
    (stored,) = get_state(ehr.app).store.current("Provenance")
    provenance = stored.body
    assert provenance["target"] == [{"reference": target}]
    assert provenance["agent"][0]["who"] == {"reference": FRONT_DESK}
    assert provenance["agent"][0]["type"]["coding"][0]["code"] == "author"
    assert provenance["reason"] == [{"text": "Caller verification passed"}]
    assert provenance["activity"]["coding"][0]["code"] == "UPDATE"
    assert provenance["meta"]["security"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
    ]
    assert provenance["entity"][0]["what"]["identifier"]["value"] == result.grant_id


@pytest.mark.parametrize(
    ("token", "overrides"),
    [
        ("not-a-grant-token", {}),
        (None, {"appointment_id": LATER}),
        (None, {"staff": SECOND_DESK}),
        (None, {"tenant": "other"}),
    ],
)
def test_without_a_matching_grant_nothing_is_written(
    wiring: Wiring,
    changer: AppointmentChanger,
    fhir: FhirClient,
    ehr: RunningSandbox,
    token: str | None,
    overrides: dict[str, str],
) -> None:
    with pytest.raises(GrantInvalid):
        move(changer, fhir, token or grant_token(wiring), **overrides)

    assert appointment_puts(ehr) == []
    assert ehr.request_log.matching("/fhir/Appointment") == []
    assert audit_rows(wiring.db, "codeword:appointment:write") == []


def test_a_grant_for_another_action_is_refused(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = grant_token(wiring, NEXT, Action.CANCEL)

    with pytest.raises(GrantInvalid):
        move(changer, fhir, token)
    assert appointment_puts(ehr) == []


def test_an_expired_grant_is_refused(
    wiring: Wiring,
    changer: AppointmentChanger,
    fhir: FhirClient,
    ehr: RunningSandbox,
    clock: Clock,
) -> None:
    token = grant_token(wiring)
    clock.advance(10 * 60 + 1)

    with pytest.raises(GrantExpired):
        move(changer, fhir, token)
    assert appointment_puts(ehr) == []


def test_a_used_grant_is_refused(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = grant_token(wiring)
    move(changer, fhir, token)

    with pytest.raises(GrantUsed):
        move(changer, fhir, token, new_start=datetime(2031, 6, 1, 9, tzinfo=UTC))
    assert len(appointment_puts(ehr)) == 1
    assert stored_appointment(ehr)["start"].startswith("2031-05-06")


def test_bad_times_are_refused_before_the_grant_is_claimed(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient
) -> None:
    token = grant_token(wiring)
    start = datetime(2031, 5, 6, 9, tzinfo=UTC)

    with pytest.raises(ValueError, match="time zone"):
        move(changer, fhir, token, new_start=start.replace(tzinfo=None))
    with pytest.raises(ValueError, match="after"):
        move(changer, fhir, token, new_start=start, new_end=start)
    with pytest.raises(ValueError, match="reason"):
        changer.cancel(fhir, tenant=TENANT, patient_id="pat-1", appointment_id=NEXT,
                       token=token, staff=FRONT_DESK, reason="because")  # fmt: skip
    assert grant_states(wiring) == ["issued"]


def _describe(appointment: Resource) -> Resource:
    appointment.description = "Room 4"  # type: ignore[attr-defined]
    return appointment


def _cancel(appointment: Resource) -> Resource:
    appointment.status = "cancelled"  # type: ignore[attr-defined]
    return appointment


def test_a_concurrent_change_is_re_read_and_kept(
    wiring: Wiring, changer: AppointmentChanger, ehr: RunningSandbox, client_keys: ClientKeys
) -> None:
    racing = interfering(ehr, client_keys, _describe)

    result = move(changer, racing, grant_token(wiring))

    puts = appointment_puts(ehr)
    assert len(puts) == 3  # the other client's, ours refused with 412, ours again
    assert puts[1].headers["If-Match"] == 'W/"1"'
    assert puts[2].headers["If-Match"] == 'W/"2"'
    after = stored_appointment(ehr)
    assert after["description"] == "Room 4"  # not overwritten
    assert after["start"] == "2031-05-06T09:30:00Z"
    assert result.version_id == "3"


def test_a_concurrent_cancellation_is_re_verified_and_nothing_is_written(
    wiring: Wiring, changer: AppointmentChanger, ehr: RunningSandbox, client_keys: ClientKeys
) -> None:
    racing = interfering(ehr, client_keys, _cancel)

    with pytest.raises(NotChangeable):
        move(changer, racing, grant_token(wiring))

    after = stored_appointment(ehr)
    assert after["status"] == "cancelled"
    assert "2031" not in after["start"]
    assert change_entries(wiring.db, "written") == []


def test_an_appointment_that_keeps_changing_gives_up_and_releases_the_grant(
    wiring: Wiring,
    changer: AppointmentChanger,
    fhir: FhirClient,
    ehr: RunningSandbox,
    client_keys: ClientKeys,
) -> None:
    token = grant_token(wiring)
    racing = interfering(ehr, client_keys, _describe, times=3)

    with pytest.raises(ChangeConflict) as caught:
        move(changer, racing, token)

    assert caught.value.retry_until is not None
    assert "2031" not in stored_appointment(ehr)["start"]
    assert grant_states(wiring) == ["issued"]
    move(changer, fhir, token)  # the released grant still works while it lasts
    assert stored_appointment(ehr)["start"].startswith("2031-05-06T09:30")


def test_an_ehr_outage_writes_nothing_and_releases_the_grant(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = grant_token(wiring)
    ehr.faults.fhir_down = True
    try:
        with pytest.raises(EhrUnavailable) as caught:
            move(changer, fhir, token)
    finally:
        ehr.faults.fhir_down = False

    assert caught.value.retry_until is not None
    assert caught.value.status_code == 503
    assert "nothing was changed" in caught.value.description
    assert appointment_puts(ehr) == []
    assert grant_states(wiring) == ["issued"]
    move(changer, fhir, token)
    assert len(appointment_puts(ehr)) == 1
