# SPDX-License-Identifier: Apache-2.0
"""The EHR side of the appointment-change tests: a sandbox FHIR server that requires If-Match,
Backend Services clients of it, grants from the real service and what the EHR then holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import select

from plugin.codeword.appointments import AppointmentChanger
from plugin.codeword.interfaces import Action
from plugin.codeword.models import CodewordGrant
from smart_launch.backend import BackendServicesClient
from smart_launch.fhir import FhirClient
from smart_launch.http import make_session
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.unit.plugin.codeword.support import FRONT_DESK
from tests.unit.plugin.codeword.support import TENANT
from tests.unit.plugin.codeword.support import WORD
from tests.unit.plugin.codeword.support import Wiring
from tests.unit.plugin.codeword.support import verify

SCOPE = "system/Appointment.rus system/Provenance.crs"
NEXT, LATER, OTHERS = "appt-1-next", "appt-1-later", "appt-2-next"
"""pat-1's next and later appointments, and pat-2's next one (seeded by the sandbox)."""


def ehr_client(
    ehr: RunningSandbox, keys: ClientKeys, session: requests.Session | None = None
) -> Any:
    tokens = BackendServicesClient(ehr.fhir_base, "quietline", keys, SCOPE)
    return FhirClient(ehr.fhir_base, tokens, session=session)


def grant_token(wiring: Wiring, appointment: str = NEXT, action: Action = Action.RESCHEDULE) -> str:
    result = verify(wiring.service, WORD, appointment=appointment, action=action)
    assert result.grant is not None
    return str(result.grant.token)


def stored_appointment(ehr: RunningSandbox, appointment: str = NEXT) -> dict[str, Any]:
    stored = get_state(ehr.app).store.read("Appointment", appointment)
    assert stored is not None
    return dict(stored.body)


def appointment_puts(ehr: RunningSandbox) -> list[Any]:
    return ehr.request_log.matching("/fhir/Appointment/", "PUT")


def move(changer: AppointmentChanger, fhir: FhirClient, token: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "tenant": TENANT, "patient_id": "pat-1", "appointment_id": NEXT, "token": token,
        "staff": FRONT_DESK, "new_start": datetime(2031, 5, 6, 9, 30, tzinfo=UTC),
    }  # fmt: skip
    values.update(overrides)
    return changer.reschedule(fhir, **values)


def grant_states(wiring: Wiring) -> list[str]:
    with wiring.db.session() as session:
        return [g.state for g in session.scalars(select(CodewordGrant))]


def interfering(
    ehr: RunningSandbox, keys: ClientKeys, edit: Callable[[Any], Any], times: int = 1
) -> FhirClient:
    """A client whose reads of the appointment are each followed by another client's edit."""
    other = ehr_client(ehr, keys)
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
    return ehr_client(ehr, keys, session)
