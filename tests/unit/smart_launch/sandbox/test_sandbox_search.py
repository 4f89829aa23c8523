# SPDX-License-Identifier: Apache-2.0
"""FHIR search: parameters, references, dates, sorting, paging and unknown parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from smart_launch.sandbox.seed import APPOINTMENTS
from smart_launch.sandbox.seed import MRN_SYSTEM
from smart_launch.sandbox.seed import PATIENTS

if TYPE_CHECKING:
    from tests.unit.smart_launch.sandbox.conftest import Flow


# -- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"identifier": f"{MRN_SYSTEM}|QL-100003"}, ["pat-3"]),
        ({"identifier": "QL-100003"}, ["pat-3"]),
        ({"identifier": "|QL-100003"}, []),
        ({"identifier": "urn:other|QL-100003"}, []),
        ({"_id": "pat-2,pat-5"}, ["pat-2", "pat-5"]),
        ({"family": "moreau"}, ["pat-2"]),
        ({"given": "Ri"}, ["pat-3"]),
        ({"name": "Haddad"}, ["pat-6"]),
        ({"name:exact": "haddad"}, []),
        ({"name:contains": "wal"}, ["pat-5"]),
        ({"birthdate": "1979"}, ["pat-2"]),
        ({"birthdate": "ge2000-01-01"}, ["pat-4"]),
        ({"birthdate": "lt1970-01-01"}, ["pat-5"]),
        ({"gender": "male", "birthdate": "gt1985"}, ["pat-6"]),
    ],
)
def test_patient_search_parameters(
    flow: Flow, user_token: str, query: dict[str, str], expected: list[str]
) -> None:
    response = flow.fhir("GET", "/Patient", user_token, params=query)
    assert response.status_code == 200, response.text
    assert sorted(flow.ids(response)) == expected


def test_search_by_reference_forms(flow: Flow, user_token: str) -> None:
    base = flow.ehr.fhir_base
    for value in ("Patient/pat-4", "pat-4", f"{base}/Patient/pat-4"):
        found = flow.ids(flow.fhir("GET", "/Appointment", user_token, params={"patient": value}))
        assert sorted(found) == sorted(APPOINTMENTS["pat-4"]), value
    by_actor = flow.fhir("GET", "/Appointment", user_token, params={"actor": "Patient/pat-4"})
    assert len(flow.ids(by_actor)) == 3
    by_practitioner = flow.fhir(
        "GET", "/Appointment", user_token, params={"practitioner": "therapist", "_count": "200"}
    )
    assert len(flow.ids(by_practitioner)) == 3 * len(PATIENTS)
    roles = flow.fhir("GET", "/PractitionerRole", user_token, params={"practitioner": "frontdesk"})
    assert flow.ids(roles) == ["role-frontdesk"]
    encounters = flow.fhir("GET", "/Encounter", user_token, params={"subject": "Patient/pat-2"})
    assert flow.ids(encounters) == ["enc-2"]


def test_search_status_date_and_sort(flow: Flow, user_token: str) -> None:
    params = {"patient": "pat-1", "status": "booked", "_sort": "-date"}
    later, upcoming = flow.ids(flow.fhir("GET", "/Appointment", user_token, params=params))
    assert (upcoming, later) == APPOINTMENTS["pat-1"][1:]
    ascending = flow.ids(
        flow.fhir("GET", "/Appointment", user_token, params={"patient": "pat-1", "_sort": "date"})
    )
    assert ascending == list(APPOINTMENTS["pat-1"])
    past = flow.fhir(
        "GET", "/Appointment", user_token, params={"patient": "pat-1", "date": "lt2020-01-01"}
    )
    assert flow.ids(past) == []
    future = flow.ids(
        flow.fhir(
            "GET",
            "/Appointment",
            user_token,
            params=[("patient", "pat-1"), ("date", "ge2000-01-01"), ("date", "le2999-12-31")],
        )
    )
    assert len(future) == 3


def test_search_last_updated(flow: Flow, user_token: str) -> None:
    created = flow.create_flag(user_token).json()
    stamp = created["meta"]["lastUpdated"]
    after = flow.ids(flow.fhir("GET", "/Flag", user_token, params={"_lastUpdated": f"ge{stamp}"}))
    assert after == [created["id"]]
    before = flow.ids(flow.fhir("GET", "/Flag", user_token, params={"_lastUpdated": f"lt{stamp}"}))
    assert before == []


def test_search_paging(flow: Flow, user_token: str) -> None:
    first = flow.fhir("GET", "/Appointment", user_token, params={"_count": "5"}).json()
    assert first["total"] == 3 * len(PATIENTS)
    assert len(first["entry"]) == 5
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["self"].startswith(flow.ehr.fhir_base + "/Appointment?")
    seen = [entry["fullUrl"] for entry in first["entry"]]
    url = links.get("next")
    while url:
        page = flow.http.get(url, headers={"Authorization": f"Bearer {user_token}"}).json()
        seen.extend(entry["fullUrl"] for entry in page["entry"])
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == first["total"]
    assert seen[0] == f"{flow.ehr.fhir_base}/Appointment/{seen[0].rsplit('/', 1)[1]}"
    capped = flow.fhir("GET", "/Appointment", user_token, params={"_count": "5000"}).json()
    assert "_count=200" in capped["link"][0]["url"]


def test_unknown_parameters_are_reported_or_refused(flow: Flow, user_token: str) -> None:
    lenient = flow.fhir(
        "GET", "/Patient", user_token, params={"family": "Moreau", "shoe-size": "9"}
    )
    assert lenient.status_code == 200
    entries = lenient.json()["entry"]
    assert [e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"] == ["pat-2"]
    outcome = next(e for e in entries if e["search"]["mode"] == "outcome")["resource"]
    assert "shoe-size" in outcome["issue"][0]["diagnostics"]
    assert "shoe-size" not in lenient.json()["link"][0]["url"]
    strict = flow.fhir(
        "GET",
        "/Patient",
        user_token,
        params={"shoe-size": "9"},
        headers={"Prefer": "handling=strict"},
    )
    assert strict.status_code == 400
    assert strict.json()["resourceType"] == "OperationOutcome"


def test_invalid_search_values_are_400(flow: Flow, user_token: str) -> None:
    for params in ({"date": "tomorrow"}, {"_count": "many"}, {"status:fuzzy": "booked"}):
        response = flow.fhir("GET", "/Appointment", user_token, params=params)
        assert response.status_code == 400, params


def test_post_search(flow: Flow, user_token: str) -> None:
    response = flow.fhir(
        "POST", "/Patient/_search", user_token, data={"identifier": f"{MRN_SYSTEM}|QL-100006"}
    )
    assert response.status_code == 200
    assert flow.ids(response) == ["pat-6"]


def test_versioned_reference_search_matches_that_version_only(flow: Flow, user_token: str) -> None:
    flag = flow.flag(subject={"reference": "Patient/pat-1/_history/1"})
    created = flow.fhir("POST", "/Flag", user_token, json=flag, headers=flow.fhir_json).json()

    def found(value: str) -> list[str]:
        return flow.ids(flow.fhir("GET", "/Flag", user_token, params={"subject": value}))

    assert created["id"] in found("Patient/pat-1/_history/1")
    assert created["id"] not in found("Patient/pat-1/_history/2")
    assert created["id"] in found("Patient/pat-1")
