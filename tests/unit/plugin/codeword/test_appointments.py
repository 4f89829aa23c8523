# SPDX-License-Identifier: Apache-2.0
"""AppointmentChanger against the real sandbox EHR (If-Match required) over HTTP.

Grants come from the real :class:`CodewordService` (fast argon2 parameters, injected clock).
Concurrent changes in the EHR are made for real, by a second client, from a response hook on
the changer's HTTP session: right after the changer read the appointment, before it writes.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fhir.resources.R4B.resource import Resource
from sqlalchemy import select

from plugin.codeword.appointments import AppointmentChanger
from plugin.codeword.errors import ChangeConflict
from plugin.codeword.errors import EhrUnavailable
from plugin.codeword.errors import NotChangeable
from plugin.codeword.errors import NotThisClient
from plugin.codeword.interfaces import Action
from plugin.codeword.models import CodewordGrant
from plugin.codeword.services import GrantExpired
from plugin.codeword.services import GrantInvalid
from plugin.codeword.services import GrantUsed
from plugin.outbox.services import Outbox
from plugin.outbox.worker import OutboxWorker
from smart_launch.backend import BackendServicesClient
from smart_launch.fhir import FhirClient
from smart_launch.http import make_session
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.config import ClientRegistration
from smart_launch.sandbox.config import SandboxConfig
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.server import start
from smart_launch.sandbox.state import get_state
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import SECOND_DESK
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import WORD
from tests.unit.plugin.codeword.support import Clock
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import audit_rows
from tests.unit.plugin.codeword.support import enroll
from tests.unit.plugin.codeword.support import verify

SCOPE = "system/Appointment.rus system/Provenance.crs"
NEXT, LATER, OTHERS = "appt-1-next", "appt-1-later", "appt-2-next"
CANCEL_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"


@pytest.fixture
def ehr(tmp_path: Path, client_keys: ClientKeys) -> Iterator[RunningSandbox]:
    client = ClientRegistration(
        client_id="quietline",
        auth_method="private_key_jwt",
        jwks=client_keys.public_jwks(),
        grant_types=("client_credentials",),
        scope=SCOPE,
    )
    running = start(
        SandboxConfig(db_path=tmp_path / "ehr.sqlite3", clients=[client], require_if_match=True)
    )
    yield running
    running.stop()


def _client(ehr: RunningSandbox, keys: ClientKeys, session: requests.Session | None = None) -> Any:
    tokens = BackendServicesClient(ehr.fhir_base, "quietline", keys, SCOPE)
    return FhirClient(ehr.fhir_base, tokens, session=session)


@pytest.fixture
def fhir(ehr: RunningSandbox, client_keys: ClientKeys) -> FhirClient:
    return _client(ehr, client_keys)


@pytest.fixture
def outbox(wiring: Wiring, clock: Clock) -> Outbox:
    return Outbox(wiring.db, wiring.outbox_cipher, clock=clock)


@pytest.fixture
def changer(wiring: Wiring, outbox: Outbox, clock: Clock) -> AppointmentChanger:
    enroll(wiring.service)
    return AppointmentChanger(wiring.db, wiring.service, outbox, wiring.audit, clock=clock)


def _token(wiring: Wiring, appointment: str = NEXT, action: Action = Action.RESCHEDULE) -> str:
    result = verify(wiring.service, WORD, appointment=appointment, action=action)
    assert result.grant is not None
    return str(result.grant.token)


def _stored(ehr: RunningSandbox, appointment: str = NEXT) -> dict[str, Any]:
    stored = get_state(ehr.app).store.read("Appointment", appointment)
    assert stored is not None
    return dict(stored.body)


def _puts(ehr: RunningSandbox) -> list[Any]:
    return ehr.request_log.matching("/fhir/Appointment/", "PUT")


def _move(changer: AppointmentChanger, fhir: FhirClient, token: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "tenant": TENANT, "patient_id": "pat-1", "appointment_id": NEXT, "token": token,
        "staff": FRONT_DESK, "new_start": datetime(2031, 5, 6, 9, 30, tzinfo=UTC),
    }  # fmt: skip
    values.update(overrides)
    return changer.reschedule(fhir, **values)


def _grant_state(wiring: Wiring) -> list[str]:
    with wiring.db.session() as session:
        return [g.state for g in session.scalars(select(CodewordGrant))]


def test_reschedule_writes_with_if_match_and_keeps_the_length(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    before = _stored(ehr)
    result = _move(changer, fhir, _token(wiring))

    after = _stored(ehr)
    assert after["start"] == "2031-05-06T09:30:00Z"
    assert after["end"] == "2031-05-06T10:20:00Z"
    assert after["minutesDuration"] == 50
    assert after["status"] == "booked"
    (put,) = _puts(ehr)
    assert put.headers["If-Match"] == f'W/"{before["meta"]["versionId"]}"'
    assert result.version_id == after["meta"]["versionId"]
    with wiring.db.session() as session:
        (grant,) = session.scalars(select(CodewordGrant))
        assert (grant.state, grant.result_version) == ("used", result.version_id)
    (entry,) = audit_rows(wiring.db, "codeword:appointment:write")
    assert entry.actor == FRONT_DESK
    assert entry.detail["action"] == "reschedule"
    assert entry.detail["grant"] == result.grant_id
    assert entry.detail["appointment"] == wiring.service.appointment_key(TENANT, NEXT)[:16]
    assert NEXT not in str(entry.detail)


def test_an_explicit_end_sets_the_new_length(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    start = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
    _move(changer, fhir, _token(wiring), new_start=start, new_end=start + timedelta(minutes=90))

    after = _stored(ehr)
    assert (after["end"], after["minutesDuration"]) == ("2031-05-06T10:30:00Z", 90)


def test_cancel_sets_status_and_cancelation_reason(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = _token(wiring, LATER, Action.CANCEL)
    changer.cancel(fhir, tenant=TENANT, patient_id="pat-1", appointment_id=LATER, token=token,
                   staff=FRONT_DESK, reason="prov")  # fmt: skip

    after = _stored(ehr, LATER)
    assert after["status"] == "cancelled"
    assert after["cancelationReason"] == {
        "coding": [{"system": CANCEL_SYSTEM, "code": "prov", "display": "Provider"}]
    }
    assert _stored(ehr)["status"] == "booked"


def test_the_provenance_is_delivered_by_the_outbox_worker(
    wiring: Wiring,
    changer: AppointmentChanger,
    fhir: FhirClient,
    ehr: RunningSandbox,
    client_keys: ClientKeys,
    clock: Clock,
) -> None:
    result = _move(changer, fhir, _token(wiring))
    worker = OutboxWorker(
        wiring.db, wiring.outbox_cipher, lambda tenant: _client(ehr, client_keys), clock=clock
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
        _move(changer, fhir, token or _token(wiring), **overrides)

    assert _puts(ehr) == []
    assert ehr.request_log.matching("/fhir/Appointment") == []
    assert audit_rows(wiring.db, "codeword:appointment:write") == []


def test_a_grant_for_another_action_is_refused(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = _token(wiring, NEXT, Action.CANCEL)

    with pytest.raises(GrantInvalid):
        _move(changer, fhir, token)
    assert _puts(ehr) == []


def test_an_expired_grant_is_refused(
    wiring: Wiring,
    changer: AppointmentChanger,
    fhir: FhirClient,
    ehr: RunningSandbox,
    clock: Clock,
) -> None:
    token = _token(wiring)
    clock.advance(10 * 60 + 1)

    with pytest.raises(GrantExpired):
        _move(changer, fhir, token)
    assert _puts(ehr) == []


def test_a_used_grant_is_refused(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = _token(wiring)
    _move(changer, fhir, token)

    with pytest.raises(GrantUsed):
        _move(changer, fhir, token, new_start=datetime(2031, 6, 1, 9, tzinfo=UTC))
    assert len(_puts(ehr)) == 1
    assert _stored(ehr)["start"].startswith("2031-05-06")


def test_another_clients_appointment_is_refused_and_the_grant_spent(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = _token(wiring, OTHERS)

    with pytest.raises(NotThisClient):
        _move(changer, fhir, token, appointment_id=OTHERS)
    with pytest.raises(GrantUsed):
        _move(changer, fhir, token, appointment_id=OTHERS)
    assert _puts(ehr) == []
    assert _grant_state(wiring) == ["claimed"]


def test_bad_times_are_refused_before_the_grant_is_claimed(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient
) -> None:
    token = _token(wiring)
    start = datetime(2031, 5, 6, 9, tzinfo=UTC)

    with pytest.raises(ValueError, match="time zone"):
        _move(changer, fhir, token, new_start=start.replace(tzinfo=None))
    with pytest.raises(ValueError, match="after"):
        _move(changer, fhir, token, new_start=start, new_end=start)
    with pytest.raises(ValueError, match="reason"):
        changer.cancel(fhir, tenant=TENANT, patient_id="pat-1", appointment_id=NEXT,
                       token=token, staff=FRONT_DESK, reason="because")  # fmt: skip
    assert _grant_state(wiring) == ["issued"]


def _interfering(
    ehr: RunningSandbox, keys: ClientKeys, edit: Callable[[Any], Any], times: int = 1
) -> FhirClient:
    """A client whose reads of the appointment are each followed by another client's edit."""
    other = _client(ehr, keys)
    left = [times]

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        del args, kwargs
        request = response.request
        reads = request.method == "GET" and str(request.url).endswith(f"/Appointment/{NEXT}")
        if reads and left[0] > 0:
            left[0] -= 1
            other.update_with("Appointment", NEXT, edit)
        return response

    session = make_session()
    session.hooks["response"].append(hook)
    return _client(ehr, keys, session)


def _describe(appointment: Resource) -> Resource:
    appointment.description = "Room 4"  # type: ignore[attr-defined]
    return appointment


def _cancel(appointment: Resource) -> Resource:
    appointment.status = "cancelled"  # type: ignore[attr-defined]
    return appointment


def test_a_concurrent_change_is_re_read_and_kept(
    wiring: Wiring, changer: AppointmentChanger, ehr: RunningSandbox, client_keys: ClientKeys
) -> None:
    racing = _interfering(ehr, client_keys, _describe)

    result = _move(changer, racing, _token(wiring))

    puts = _puts(ehr)
    assert len(puts) == 3  # the other client's, ours refused with 412, ours again
    assert puts[1].headers["If-Match"] == 'W/"1"'
    assert puts[2].headers["If-Match"] == 'W/"2"'
    after = _stored(ehr)
    assert after["description"] == "Room 4"  # not overwritten
    assert after["start"] == "2031-05-06T09:30:00Z"
    assert result.version_id == "3"


def test_a_concurrent_cancellation_is_re_verified_and_nothing_is_written(
    wiring: Wiring, changer: AppointmentChanger, ehr: RunningSandbox, client_keys: ClientKeys
) -> None:
    racing = _interfering(ehr, client_keys, _cancel)

    with pytest.raises(NotChangeable):
        _move(changer, racing, _token(wiring))

    after = _stored(ehr)
    assert after["status"] == "cancelled"
    assert "2031" not in after["start"]
    assert audit_rows(wiring.db, "codeword:appointment:write") == []


def test_an_appointment_that_keeps_changing_gives_up_and_releases_the_grant(
    wiring: Wiring,
    changer: AppointmentChanger,
    fhir: FhirClient,
    ehr: RunningSandbox,
    client_keys: ClientKeys,
) -> None:
    token = _token(wiring)
    racing = _interfering(ehr, client_keys, _describe, times=3)

    with pytest.raises(ChangeConflict) as caught:
        _move(changer, racing, token)

    assert caught.value.retry_until is not None
    assert "2031" not in _stored(ehr)["start"]
    assert _grant_state(wiring) == ["issued"]
    _move(changer, fhir, token)  # the released grant still works while it lasts
    assert _stored(ehr)["start"].startswith("2031-05-06T09:30")


def test_an_ehr_outage_writes_nothing_and_releases_the_grant(
    wiring: Wiring, changer: AppointmentChanger, fhir: FhirClient, ehr: RunningSandbox
) -> None:
    token = _token(wiring)
    ehr.faults.fhir_down = True
    try:
        with pytest.raises(EhrUnavailable) as caught:
            _move(changer, fhir, token)
    finally:
        ehr.faults.fhir_down = False

    assert caught.value.retry_until is not None
    assert caught.value.status_code == 503
    assert "nothing was changed" in caught.value.description
    assert _puts(ehr) == []
    assert _grant_state(wiring) == ["issued"]
    _move(changer, fhir, token)
    assert len(_puts(ehr)) == 1
