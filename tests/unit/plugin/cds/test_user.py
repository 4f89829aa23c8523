# SPDX-License-Identifier: Apache-2.0
"""Who sees the card: staff of the tenant only.

A patient booking online, or a proxy booking for them, gets the answer an unprotected client
gets, so the card can never tell a client (or someone acting as them) that a word is on file.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import Ehr
from tests.unit.plugin.cds.support import RecordingServer
from tests.unit.plugin.cds.support import audit_entries
from tests.unit.plugin.cds.support import enroll
from tests.unit.plugin.cds.support import hook_body
from tests.unit.plugin.cds.support import patient
from tests.unit.plugin.cds.support import register_tenant
from tests.unit.plugin.cds.support import without_prefetch

_DROP: Any = object()

NOT_STAFF = [
    pytest.param("Patient/pat-1", id="patient"),
    pytest.param("RelatedPerson/rp-1", id="related-person"),
    pytest.param("Person/per-1", id="person"),
    pytest.param("Device/kiosk-1", id="device"),
    pytest.param(_DROP, id="missing"),
    pytest.param("", id="empty"),
    pytest.param("prac-1", id="bare-id"),
    pytest.param("Practitioner/", id="no-id"),
    pytest.param("Practitioner/a/b", id="extra-segment"),
    pytest.param("practitioner/prac-1", id="lower-case-type"),
    pytest.param("http://127.0.0.1:8702/fhir/Practitioner/prac-1", id="other-server"),
    pytest.param(7, id="number"),
    pytest.param({"reference": "Practitioner/prac-1"}, id="object"),
    pytest.param(None, id="null"),
]


def _body(user: Any, patient_id: str = "pat-1", **kwargs: Any) -> dict[str, Any]:
    body = without_prefetch(patient_id, **kwargs) if kwargs else hook_body(patient_id)
    if user is _DROP:
        del body["context"]["userId"]
    else:
        body["context"]["userId"] = user
    return body


def _post(client: FlaskClient, ehr: Ehr, body: dict[str, Any]) -> TestResponse:
    return client.post(SERVICE_PATH, json=body, headers=ehr.auth())


def _visible(response: TestResponse) -> tuple[int, bytes, dict[str, str]]:
    """Everything a caller can compare between two answers (headers minus the clock)."""
    headers = {k: v for k, v in response.headers.items() if k not in {"Date", "Server-Timing"}}
    return response.status_code, response.get_data(), headers


@pytest.mark.parametrize("user", NOT_STAFF)
def test_someone_other_than_staff_gets_no_card_for_a_protected_client(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr, user: Any
) -> None:
    enroll(cds_app, "ehr", "pat-1")

    protected = _post(cds, ehr, _body(user, "pat-1"))
    unprotected = _post(cds, ehr, _body(user, "pat-2"))

    assert protected.status_code == 200
    assert protected.json == {"cards": []}
    assert _visible(protected) == _visible(unprotected)


@pytest.mark.parametrize("user", ["Practitioner/prac-1", "PractitionerRole/role-7"])
def test_staff_see_the_card(cds: FlaskClient, cds_app: Flask, ehr: Ehr, user: str) -> None:
    enroll(cds_app, "ehr", "pat-1")

    response = _post(cds, ehr, _body(user))

    assert response.status_code == 200
    (card,) = response.json["cards"]
    assert card["indicator"] == "critical"
    assert audit_entries(cds_app, "cds:hook:call")[-1].actor == user


def test_a_call_for_a_patient_is_audited_as_the_ehr_without_a_card(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-1")

    _post(cds, ehr, _body("Patient/pat-1"))

    (entry,) = audit_entries(cds_app, "cds:hook:call")
    assert entry.actor == f"cds:{ehr.iss}"
    assert entry.detail == {"cards": 0}


@pytest.mark.parametrize("user", ["Patient/pat-1", "RelatedPerson/rp-1"])
def test_a_patient_caller_causes_the_same_fhir_reads_for_protected_and_unprotected(
    cds_app: Flask, ehr: Ehr, user: str
) -> None:
    fhir = RecordingServer().start()
    try:
        base = f"{fhir.url}/fhir"
        register_tenant(cds_app, base, [{"iss": ehr.iss, "jku": ehr.jku}])
        enroll(cds_app, "ehr", "pat-1")
        access = {"access_token": "fhir-token", "token_type": "Bearer"}
        client = cds_app.test_client()
        answers = []
        for patient_id in ("pat-1", "pat-2"):
            fhir.document = patient(patient_id)
            body = _body(user, patient_id, fhirServer=base, fhirAuthorization=access)
            answers.append(_post(client, ehr, body))
    finally:
        fhir.stop()

    assert [a.json for a in answers] == [{"cards": []}, {"cards": []}]
    assert _visible(answers[0]) == _visible(answers[1])
    reads = [(r.method, r.path) for r in fhir.requests]
    assert reads == [("GET", "/fhir/Patient/pat-1"), ("GET", "/fhir/Patient/pat-2")]
