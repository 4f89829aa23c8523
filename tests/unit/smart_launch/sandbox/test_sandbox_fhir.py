# SPDX-License-Identifier: Apache-2.0
"""The FHIR REST server: bearer tokens, SMART scopes, compartments, read and vread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smart_launch.sandbox.seed import APPOINTMENTS
from smart_launch.sandbox.seed import MRN_SYSTEM

if TYPE_CHECKING:
    from tests.unit.smart_launch.sandbox.conftest import Flow


# -- authentication and scopes ---------------------------------------------------------------


def test_requests_without_a_token_get_401(flow: Flow) -> None:
    response = flow.http.get(flow.ehr.fhir_base + "/Patient/pat-1")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_unknown_token_gets_401(flow: Flow) -> None:
    response = flow.fhir("GET", "/Patient/pat-1", "not-a-token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_patient_scope_refuses_another_patients_resources(flow: Flow, patient_token: str) -> None:
    assert flow.fhir("GET", "/Patient/pat-1", patient_token).status_code == 200
    other = flow.fhir("GET", "/Patient/pat-2", patient_token)
    assert other.status_code == 403
    assert other.json()["issue"][0]["code"] == "forbidden"
    appointment = flow.fhir("GET", f"/Appointment/{APPOINTMENTS['pat-2'][1]}", patient_token)
    assert appointment.status_code == 403


def test_patient_scope_constrains_searches_to_the_patient(flow: Flow, patient_token: str) -> None:
    found = flow.ids(flow.fhir("GET", "/Appointment", patient_token))
    assert sorted(found) == sorted(APPOINTMENTS["pat-1"])
    assert flow.ids(flow.fhir("GET", "/Patient", patient_token)) == ["pat-1"]
    other = flow.fhir("GET", "/Appointment", patient_token, params={"patient": "pat-2"})
    assert other.status_code == 403


def test_patient_scope_refuses_writes_outside_the_compartment(
    flow: Flow, patient_token: str
) -> None:
    response = flow.create_flag(patient_token, "pat-2")
    assert response.status_code == 403
    assert flow.create_flag(patient_token).ok


def test_scope_letters_are_enforced(flow: Flow) -> None:
    token = flow.token(scope="launch patient/Patient.r patient/Flag.c")["access_token"]
    assert flow.fhir("GET", "/Patient/pat-1", token).status_code == 200
    assert flow.fhir("GET", "/Patient", token).status_code == 403
    created = flow.create_flag(token)
    assert created.status_code == 201
    flag_id = created.json()["id"]
    assert flow.fhir("GET", f"/Flag/{flag_id}", token).status_code == 403
    assert flow.fhir("DELETE", f"/Flag/{flag_id}", token).status_code == 403


def test_v1_scopes_are_understood(flow: Flow) -> None:
    token = flow.token(scope="launch patient/Appointment.read")["access_token"]
    assert flow.fhir("GET", "/Appointment", token).status_code == 200
    assert flow.fhir("DELETE", f"/Appointment/{APPOINTMENTS['pat-1'][1]}", token).status_code == 403


def test_fhir_down_fault(flow: Flow, user_token: str) -> None:
    flow.ehr.faults.fhir_down = True
    response = flow.fhir("GET", "/Patient/pat-1", user_token)
    assert response.status_code == 503
    assert response.json()["resourceType"] == "OperationOutcome"
    assert flow.http.get(flow.ehr.fhir_base + "/metadata").status_code == 503
    flow.ehr.faults.fhir_down = False
    assert flow.fhir("GET", "/Patient/pat-1", user_token).status_code == 200


# -- read ------------------------------------------------------------------------------------


def test_read_has_etag_last_modified_and_fhir_json(flow: Flow, user_token: str) -> None:
    response = flow.fhir("GET", "/Patient/pat-2", user_token)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Last-Modified"].endswith("GMT")
    patient = response.json()
    assert patient["meta"]["versionId"] == "1"
    assert patient["identifier"][0]["system"] == MRN_SYSTEM


def test_read_unknown_is_404_and_unsupported_type_is_404(flow: Flow, user_token: str) -> None:
    missing = flow.fhir("GET", "/Patient/pat-999", user_token)
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"
    assert flow.fhir("GET", "/Medication/x", user_token).status_code == 404


def test_delete_then_read_is_410_and_vread_keeps_history(flow: Flow, user_token: str) -> None:
    created = flow.create_flag(user_token).json()
    path = f"/Flag/{created['id']}"
    assert flow.fhir("DELETE", path, user_token).status_code == 204
    gone = flow.fhir("GET", path, user_token)
    assert gone.status_code == 410
    assert gone.json()["resourceType"] == "OperationOutcome"
    first = flow.fhir("GET", path + "/_history/1", user_token)
    assert first.status_code == 200
    assert first.json()["status"] == "active"
    assert flow.fhir("GET", path + "/_history/2", user_token).status_code == 410
    assert flow.fhir("GET", path + "/_history/9", user_token).status_code == 404
    assert created["id"] not in flow.ids(flow.fhir("GET", "/Flag", user_token))
