# SPDX-License-Identifier: Apache-2.0
"""A change the EHR took is never left without its record.

The real sandbox EHR (If-Match required) is written for real; the failure after the write is a
fault injected into the real collaborator (the audit chain, the outbox or the grant book), which
raises once and then works again, as a database hiccup would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from plugin.codeword.appointments import AppointmentChanger
from plugin.codeword.errors import ChangeRecordPending
from plugin.codeword.intents import ChangeIntents
from plugin.codeword.interfaces import Action
from plugin.codeword.models import ChangeIntent
from plugin.codeword.services import CodewordService
from plugin.codeword.services import GrantInvalid
from plugin.codeword.services import GrantRefused
from plugin.outbox.services import Outbox
from smart_launch.fhir import FhirClient
from smart_launch.sandbox.server import RunningSandbox
from tests.unit.plugin.codeword.ehr_support import LATER
from tests.unit.plugin.codeword.ehr_support import NEXT
from tests.unit.plugin.codeword.ehr_support import appointment_puts
from tests.unit.plugin.codeword.ehr_support import grant_states
from tests.unit.plugin.codeword.ehr_support import grant_token
from tests.unit.plugin.codeword.ehr_support import move
from tests.unit.plugin.codeword.ehr_support import stored_appointment
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import change_entries
from tests.unit.plugin.codeword.support import outbox_payloads


def fail_once(
    monkeypatch: pytest.MonkeyPatch,
    target: Any,
    name: str,
    error: Exception,
    when: Callable[..., bool] = lambda *args, **kwargs: True,
) -> list[int]:
    """Make ``target.name`` raise ``error`` on its first call that ``when`` accepts; every
    other call runs the real method.  Returns a one-item list counting the faults raised."""
    real = getattr(target, name)
    raised = [0]

    def faulty(*args: Any, **kwargs: Any) -> Any:
        if raised[0] == 0 and when(*args, **kwargs):
            raised[0] += 1
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, faulty)
    return raised


def _rows(wiring: Wiring) -> list[ChangeIntent]:
    with wiring.db.session() as session:
        return list(session.scalars(select(ChangeIntent).order_by(ChangeIntent.created_at)))


def _provenances(wiring: Wiring) -> list[dict[str, Any]]:
    return [
        p
        for p in outbox_payloads(wiring.db, wiring.outbox_cipher)
        if p["resourceType"] == "Provenance"
    ]


def _audit_fault(monkeypatch: pytest.MonkeyPatch, wiring: Wiring, outbox: Outbox) -> list[int]:
    del outbox
    return fail_once(
        monkeypatch,
        wiring.audit,
        "record",
        RuntimeError("audit store unavailable"),
        lambda event, **kwargs: event.detail.get("stage") == "written",
    )


def _outbox_fault(monkeypatch: pytest.MonkeyPatch, wiring: Wiring, outbox: Outbox) -> list[int]:
    del wiring
    return fail_once(monkeypatch, outbox, "enqueue", RuntimeError("outbox unavailable"))


@pytest.mark.parametrize("inject", [_audit_fault, _outbox_fault], ids=["audit", "outbox"])
def test_a_record_failing_after_the_write_is_completed_once_by_recovery(
    monkeypatch: pytest.MonkeyPatch,
    wiring: Wiring,
    changer: AppointmentChanger,
    intents: ChangeIntents,
    outbox: Outbox,
    fhir: FhirClient,
    ehr: RunningSandbox,
    inject: Callable[[pytest.MonkeyPatch, Wiring, Outbox], list[int]],
) -> None:
    token = grant_token(wiring)
    raised = inject(monkeypatch, wiring, outbox)

    with pytest.raises(ChangeRecordPending) as caught:
        move(changer, fhir, token)

    assert raised == [1]
    assert caught.value.status_code == 202
    assert caught.value.description.startswith("The appointment was changed in the EHR.")
    assert "Nothing was" not in caught.value.description
    after = stored_appointment(ehr)
    assert after["start"] == "2031-05-06T09:30:00Z"  # the EHR holds the change
    (row,) = _rows(wiring)
    assert (row.state, row.base_version, row.target_version) == ("writing", "1", "2")
    assert row.stalled_at is not None
    assert change_entries(wiring.db, "written") == []
    assert _provenances(wiring) == []
    assert len(change_entries(wiring.db, "intent")) == 1

    assert intents.recover_client(fhir, TENANT, "pat-1") == 1

    (row,) = _rows(wiring)
    assert (row.state, row.result_version) == ("written", after["meta"]["versionId"])
    (entry,) = change_entries(wiring.db, "written")
    assert entry.detail["recovered"] is True
    assert entry.detail["version"] == after["meta"]["versionId"]
    assert entry.actor == FRONT_DESK
    (provenance,) = _provenances(wiring)
    target = f"Appointment/{NEXT}/_history/{after['meta']['versionId']}"
    assert provenance["target"] == [{"reference": target}]
    assert provenance["agent"][0]["who"] == {"reference": FRONT_DESK}
    assert grant_states(wiring) == ["used"]

    # Recovering again finds nothing to do and doubles nothing.
    assert intents.recover_client(fhir, TENANT, "pat-1") == 0
    assert intents.recover_seen(TENANT, fhir.read("Appointment", NEXT).resource) == 0
    assert len(change_entries(wiring.db, "written")) == 1
    assert len(_provenances(wiring)) == 1
    assert len(appointment_puts(ehr)) == 1


def test_complete_raising_after_the_write_is_not_a_verification_failure(
    monkeypatch: pytest.MonkeyPatch,
    wiring: Wiring,
    changer: AppointmentChanger,
    intents: ChangeIntents,
    fhir: FhirClient,
    ehr: RunningSandbox,
) -> None:
    token = grant_token(wiring)
    raised = fail_once(monkeypatch, CodewordService, "complete", GrantInvalid())

    with pytest.raises(ChangeRecordPending) as caught:
        move(changer, fhir, token)

    assert raised == [1]
    assert not isinstance(caught.value, GrantRefused)
    assert "Verify the caller again" not in caught.value.description
    assert stored_appointment(ehr)["start"] == "2031-05-06T09:30:00Z"
    assert [row.state for row in _rows(wiring)] == ["writing"]

    assert intents.recover_client(fhir, TENANT, "pat-1") == 1
    assert [row.state for row in _rows(wiring)] == ["written"]
    assert grant_states(wiring) == ["used"]
    assert len(change_entries(wiring.db, "written")) == 1
    assert len(_provenances(wiring)) == 1


def test_the_next_change_for_the_client_completes_the_interrupted_one_first(
    monkeypatch: pytest.MonkeyPatch,
    wiring: Wiring,
    changer: AppointmentChanger,
    outbox: Outbox,
    fhir: FhirClient,
    ehr: RunningSandbox,
) -> None:
    fail_once(monkeypatch, outbox, "enqueue", RuntimeError("outbox unavailable"))
    with pytest.raises(ChangeRecordPending):
        move(changer, fhir, grant_token(wiring))

    token = grant_token(wiring, LATER, Action.CANCEL)
    changer.cancel(fhir, tenant=TENANT, patient_id="pat-1", appointment_id=LATER, token=token,
                   staff=FRONT_DESK, reason="pat")  # fmt: skip

    assert [row.state for row in _rows(wiring)] == ["written", "written"]
    entries = change_entries(wiring.db, "written")
    assert [e.detail["action"] for e in entries] == ["reschedule", "cancel"]
    assert entries[0].detail["recovered"] is True
    targets = sorted(p["target"][0]["reference"] for p in _provenances(wiring))
    assert targets == [f"Appointment/{LATER}/_history/2", f"Appointment/{NEXT}/_history/2"]


def test_a_write_that_did_not_happen_is_closed_and_its_grant_given_back(
    wiring: Wiring,
    changer: AppointmentChanger,
    intents: ChangeIntents,
    fhir: FhirClient,
    ehr: RunningSandbox,
) -> None:
    """An intent left ``writing`` by a request that ended before its PUT took effect: recovery
    sees the version it read still in the EHR and records nothing."""
    token = grant_token(wiring)
    intent = intents.begin(TENANT, "pat-1", token, FRONT_DESK, Action.RESCHEDULE, NEXT)
    current = fhir.read("Appointment", NEXT).resource
    planned = current.model_copy(deep=True)
    planned.start = datetime(2031, 5, 6, 9, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    intents.aim(intent, planned)
    intents.stalled(intent)

    assert intents.recover_client(fhir, TENANT, "pat-1") == 1

    assert [row.state for row in _rows(wiring)] == ["not-written"]
    assert grant_states(wiring) == ["issued"]  # it can be used again while it lasts
    assert change_entries(wiring.db, "written") == []
    assert _provenances(wiring) == []
    move(changer, fhir, token)
    assert stored_appointment(ehr)["start"] == "2031-05-06T09:30:00Z"
