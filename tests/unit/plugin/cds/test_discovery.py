# SPDX-License-Identifier: Apache-2.0
"""``GET /cds-services``: one service, the same answer for every caller."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.unit.plugin.cds.support import Ehr
from tests.unit.plugin.cds.support import assert_no_empty
from tests.unit.plugin.cds.support import enroll
from tests.unit.plugin.cds.support import register_tenant
from tests.unit.plugin.support import EHR_ISS

DISCOVERY = "/cds-services"


def test_discovery_lists_the_appointment_book_service(cds: FlaskClient) -> None:
    response = cds.get(DISCOVERY)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert_no_empty(response.json)
    (service,) = response.json["services"]
    assert service["id"] == "quietline-appointment-book"
    assert service["hook"] == "appointment-book"
    assert service["title"]
    assert service["description"]
    assert service["prefetch"] == {"patient": "Patient/{{context.patientId}}"}


def test_a_valid_token_gets_the_same_document(cds: FlaskClient, ehr: Ehr) -> None:
    anonymous = cds.get(DISCOVERY).get_data()

    response = cds.get(DISCOVERY, headers=ehr.auth(DISCOVERY))

    assert response.status_code == 200
    assert response.get_data() == anonymous


def test_discovery_says_nothing_about_clients_or_tenants(
    cds_app: Flask, cds: FlaskClient, ehr: Ehr
) -> None:
    before = cds.get(DISCOVERY).get_data()
    enroll(cds_app, "ehr", "pat-1")
    register_tenant(cds_app, EHR_ISS, [{"iss": ehr.iss, "jku": ehr.jku}, {"iss": "x", "jku": "y"}])

    assert cds.get(DISCOVERY, headers=ehr.auth(DISCOVERY)).get_data() == before
    assert b"127.0.0.1" not in before


def test_a_token_sent_to_discovery_is_checked(cds: FlaskClient, ehr: Ehr) -> None:
    wrong_audience = cds.get(DISCOVERY, headers=ehr.auth())
    unsigned = cds.get(DISCOVERY, headers=ehr.auth(DISCOVERY, header={"alg": "none"}))

    assert wrong_audience.status_code == 401
    assert unsigned.status_code == 401
    assert unsigned.json["error"] == "invalid_token"


def test_a_discovery_token_cannot_be_replayed(cds: FlaskClient, ehr: Ehr) -> None:
    headers = ehr.auth(DISCOVERY)
    assert cds.get(DISCOVERY, headers=headers).status_code == 200

    assert cds.get(DISCOVERY, headers=headers).status_code == 401
