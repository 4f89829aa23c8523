# SPDX-License-Identifier: Apache-2.0
"""FHIR writes: create, conditional create, update with If-Match, validation and delete."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any

import pytest

from smart_launch.sandbox.seed import APPOINTMENTS

if TYPE_CHECKING:
    from tests.unit.smart_launch.sandbox.conftest import Flow


# -- create, conditional create, update, delete ---------------------------------------------


def test_create_assigns_id_and_version(flow: Flow, user_token: str) -> None:
    response = flow.create_flag(user_token, id="client-id")
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "client-id"
    assert body["meta"]["versionId"] == "1"
    assert response.headers["ETag"] == 'W/"1"'
    expected = f"{flow.ehr.fhir_base}/Flag/{body['id']}/_history/1"
    assert response.headers["Location"] == expected


def test_create_prefer_return(flow: Flow, user_token: str) -> None:
    minimal = flow.create_flag(user_token, headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201
    assert minimal.content == b""
    assert minimal.headers["Location"]
    outcome = flow.create_flag(user_token, headers={"Prefer": "return=OperationOutcome"})
    assert outcome.json()["resourceType"] == "OperationOutcome"


def test_conditional_create(flow: Flow, user_token: str) -> None:
    identifier = {"system": "urn:quietline:flag", "value": "codeword-1"}
    condition = {"If-None-Exist": "identifier=urn:quietline:flag|codeword-1"}
    first = flow.create_flag(user_token, identifier=[identifier], headers=condition)
    assert first.status_code == 201
    second = flow.create_flag(user_token, identifier=[identifier], headers=condition)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert (
        len(flow.ids(flow.fhir("GET", "/Flag", user_token, params={"identifier": "codeword-1"})))
        == 1
    )
    flow.create_flag(user_token, identifier=[identifier])
    third = flow.create_flag(user_token, identifier=[identifier], headers=condition)
    assert third.status_code == 412
    assert (
        len(flow.ids(flow.fhir("GET", "/Flag", user_token, params={"identifier": "codeword-1"})))
        == 2
    )


def _appointment(flow: Flow, token: str) -> tuple[str, dict[str, Any]]:
    appointment_id = APPOINTMENTS["pat-1"][1]
    return appointment_id, flow.fhir("GET", f"/Appointment/{appointment_id}", token).json()


def test_update_increments_version_and_honours_if_match(flow: Flow, user_token: str) -> None:
    appointment_id, body = _appointment(flow, user_token)
    body["status"] = "cancelled"
    path = f"/Appointment/{appointment_id}"
    updated = flow.fhir(
        "PUT", path, user_token, json=body, headers={**flow.fhir_json, "If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200
    assert updated.headers["ETag"] == 'W/"2"'
    assert updated.json()["meta"]["versionId"] == "2"
    stale = flow.fhir(
        "PUT", path, user_token, json=body, headers={**flow.fhir_json, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert flow.fhir("GET", path + "/_history/1", user_token).json()["status"] == "booked"
    assert flow.fhir("GET", path, user_token).json()["status"] == "cancelled"


def test_update_without_if_match_when_required_is_428(flow: Flow, user_token: str) -> None:
    flow.ehr.config.require_if_match = True
    appointment_id, body = _appointment(flow, user_token)
    path = f"/Appointment/{appointment_id}"
    response = flow.fhir("PUT", path, user_token, json=body, headers=flow.fhir_json)
    assert response.status_code == 428
    assert response.json()["resourceType"] == "OperationOutcome"
    ok = flow.fhir(
        "PUT", path, user_token, json=body, headers={**flow.fhir_json, "If-Match": 'W/"1"'}
    )
    assert ok.status_code == 200


def test_update_of_an_unknown_id_creates_it(flow: Flow, user_token: str) -> None:
    response = flow.fhir(
        "PUT", "/Flag/flag-new", user_token, json=flow.flag(id="flag-new"), headers=flow.fhir_json
    )
    assert response.status_code == 201
    assert response.json()["meta"]["versionId"] == "1"


def test_update_id_must_match_url(flow: Flow, user_token: str) -> None:
    response = flow.fhir(
        "PUT", "/Flag/flag-a", user_token, json=flow.flag(id="flag-b"), headers=flow.fhir_json
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "element"),
    [
        (
            {
                "resourceType": "Flag",
                "status": "unsure",
                "code": {"text": "x"},
                "subject": {"reference": "Patient/pat-1"},
            },
            "Flag.status",
        ),
        (
            {"resourceType": "Flag", "status": "active", "subject": {"reference": "Patient/pat-1"}},
            "Flag.code",
        ),
        (
            {
                "resourceType": "Flag",
                "status": "active",
                "code": {"text": "x"},
                "subject": {"reference": "Patient/pat-1"},
                "colour": "red",
            },
            "Flag.colour",
        ),
        ({"resourceType": "Patient", "id": "x"}, "Flag.resourceType"),
    ],
)
def test_invalid_resources_are_400_naming_the_element(
    flow: Flow, user_token: str, body: dict[str, Any], element: str
) -> None:
    response = flow.fhir("POST", "/Flag", user_token, json=body, headers=flow.fhir_json)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert element in issue["diagnostics"]


def test_malformed_json_and_wrong_media_type(flow: Flow, user_token: str) -> None:
    broken = flow.fhir("POST", "/Flag", user_token, data=b"{not json", headers=flow.fhir_json)
    assert broken.status_code == 400
    assert broken.json()["issue"][0]["code"] == "structure"
    xml = flow.fhir(
        "POST",
        "/Flag",
        user_token,
        data=b"<Flag/>",
        headers={"Content-Type": "application/fhir+xml"},
    )
    assert xml.status_code == 415


def test_body_over_one_mebibyte_is_413(flow: Flow, user_token: str) -> None:
    body = json.dumps(flow.flag(code={"text": "x" * (1024 * 1024 + 10)}))
    response = flow.fhir("POST", "/Flag", user_token, data=body, headers=flow.fhir_json)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"


def test_delete_with_stale_if_match_is_412(flow: Flow, user_token: str) -> None:
    created = flow.create_flag(user_token).json()
    path = f"/Flag/{created['id']}"
    assert flow.fhir("DELETE", path, user_token, headers={"If-Match": 'W/"7"'}).status_code == 412
    assert flow.fhir("DELETE", path, user_token, headers={"If-Match": 'W/"1"'}).status_code == 204
    assert flow.fhir("DELETE", "/Flag/never-existed", user_token).status_code == 404
