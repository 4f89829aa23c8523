# SPDX-License-Identifier: Apache-2.0
"""``appointment-book``: the decision, the card, prefetch handling and strict parsing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.registry import get_service
from plugin.vault.services import VaultService
from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import UNSAID
from tests.unit.plugin.cds.support import Ehr
from tests.unit.plugin.cds.support import RecordingServer
from tests.unit.plugin.cds.support import assert_no_empty
from tests.unit.plugin.cds.support import audit_entries
from tests.unit.plugin.cds.support import card_texts
from tests.unit.plugin.cds.support import closed_port
from tests.unit.plugin.cds.support import enroll
from tests.unit.plugin.cds.support import hook_body
from tests.unit.plugin.cds.support import patient
from tests.unit.plugin.cds.support import register_tenant
from tests.unit.plugin.cds.support import set_actions
from tests.unit.plugin.cds.support import without_prefetch
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import PUBLIC_URL


def _post(client: FlaskClient, ehr: Ehr, body: Any) -> Any:
    return client.post(SERVICE_PATH, json=body, headers=ehr.auth())


def _bad(response: Any, words: str) -> None:
    assert response.status_code == 400, response.json
    assert response.mimetype == "application/json"
    assert response.json["error"] == "invalid_request"
    assert words in response.json["message"]


def test_an_unprotected_client_gets_no_cards(cds: FlaskClient, ehr: Ehr) -> None:
    response = _post(cds, ehr, hook_body())

    assert response.status_code == 200
    assert response.json == {"cards": []}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_a_protected_client_gets_one_critical_card(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-1")

    response = _post(cds, ehr, hook_body())

    assert response.status_code == 200
    assert_no_empty(response.json)
    (card,) = response.json["cards"]
    assert card["indicator"] == "critical"
    assert card["source"]["label"] == "Quietline"
    assert len(card["summary"]) < 140
    assert uuid.UUID(card["uuid"]).version == 8
    (link,) = card["links"]
    assert link["type"] == "smart"
    assert link["url"] == f"{PUBLIC_URL}/launch"
    # The default protocol verifies moves and cancellations, not new bookings.
    assert json.loads(link["appContext"]) == {
        "verify": {"appointment": "apt-1", "action": "reschedule"}
    }


def test_the_card_names_no_reason(cds: FlaskClient, cds_app: Flask, ehr: Ehr) -> None:
    enroll(cds_app, "ehr", "pat-1")

    (card,) = _post(cds, ehr, hook_body()).json["cards"]

    for text in card_texts(card):
        assert not [word for word in UNSAID if word in text.lower()], text
    assert "pat-1" not in json.dumps(card["summary"] + card["detail"])


def test_a_protocol_that_verifies_bookings_asks_to_verify_the_booking(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-1")
    set_actions(cds_app, "ehr", ["book", "cancel"])

    (card,) = _post(cds, ehr, hook_body()).json["cards"]

    assert json.loads(card["links"][0]["appContext"])["verify"]["action"] == "book"


def test_a_protocol_that_verifies_no_appointment_change_gives_no_card(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-1")
    set_actions(cds_app, "ehr", ["contact-details", "release-records"])

    assert _post(cds, ehr, hook_body()).json == {"cards": []}


def test_a_new_appointment_without_an_id_leaves_the_id_out(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-1")

    response = _post(cds, ehr, hook_body(appointment_id=None))

    assert_no_empty(response.json)
    context = json.loads(response.json["cards"][0]["links"][0]["appContext"])
    assert context == {"verify": {"action": "reschedule"}}


def test_other_clients_of_the_tenant_are_not_affected(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-2")

    assert _post(cds, ehr, hook_body("pat-1")).json == {"cards": []}


def test_a_word_in_another_tenant_does_not_count(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    register_tenant(cds_app, "http://127.0.0.1:8702/fhir", [], tenant="other")
    enroll(cds_app, "other", "pat-1")

    assert _post(cds, ehr, hook_body("pat-1")).json == {"cards": []}


def test_a_merged_record_follows_replaced_by(cds: FlaskClient, cds_app: Flask, ehr: Ehr) -> None:
    enroll(cds_app, "ehr", "pat-new")
    old = patient(
        "pat-old", link=[{"other": {"reference": "Patient/pat-new"}, "type": "replaced-by"}]
    )

    response = _post(cds, ehr, hook_body("pat-old", prefetched=old))

    assert len(response.json["cards"]) == 1


def test_a_surviving_record_that_replaces_the_context_patient_is_accepted(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-new")
    new = patient("pat-new", link=[{"other": {"reference": "Patient/pat-old"}, "type": "replaces"}])

    response = _post(cds, ehr, hook_body("pat-old", prefetched=new))

    assert len(response.json["cards"]) == 1


def test_a_prefetched_patient_that_is_someone_else_is_refused(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-2")

    _bad(_post(cds, ehr, hook_body("pat-1", prefetched=patient("pat-2"))), "does not match")


def test_a_null_prefetch_means_no_patient_record(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    response = _post(cds, ehr, hook_body(prefetched=None))

    assert response.status_code == 200
    assert response.json == {"cards": []}


def test_missing_prefetch_without_fhir_access_is_412(cds: FlaskClient, ehr: Ehr) -> None:
    response = _post(cds, ehr, without_prefetch())

    assert response.status_code == 412
    assert response.json["error"] == "prefetch_unavailable"
    assert "prefetch.patient" in response.json["message"]


def test_the_fhir_token_is_never_sent_to_another_server(cds: FlaskClient, ehr: Ehr) -> None:
    stranger = RecordingServer().start()
    try:
        access = {"access_token": "secret-token", "token_type": "Bearer"}
        body = without_prefetch(fhirServer=f"{stranger.url}/fhir", fhirAuthorization=access)

        response = _post(cds, ehr, body)
    finally:
        stranger.stop()

    assert response.status_code == 412
    assert "not the FHIR server registered" in response.json["message"]
    assert stranger.requests == []


def test_an_unreachable_fhir_server_is_412(cds_app: Flask, ehr: Ehr) -> None:
    closed = f"http://127.0.0.1:{closed_port()}/fhir"
    register_tenant(cds_app, closed, [{"iss": ehr.iss, "jku": ehr.jku}])
    access = {"access_token": "secret-token", "token_type": "Bearer"}

    response = _post(
        cds_app.test_client(), ehr, without_prefetch(fhirServer=closed, fhirAuthorization=access)
    )

    assert response.status_code == 412


def test_each_call_is_audited_with_the_card_count_and_a_pseudonym(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    enroll(cds_app, "ehr", "pat-1")
    _post(cds, ehr, hook_body("pat-1"))
    _post(cds, ehr, hook_body("pat-2"))

    first, second = audit_entries(cds_app, "cds:hook:call")
    vault = get_service(VaultService, cds_app)
    assert (first.subject, first.detail) == (vault.pseudonym("ehr", "pat-1"), {"cards": 1})
    assert (second.subject, second.detail) == (vault.pseudonym("ehr", "pat-2"), {"cards": 0})
    assert first.actor == "Practitioner/prac-1"


def _with(path: str, value: Any) -> dict[str, Any]:
    body = hook_body()
    *parents, last = path.split(".")
    target = body
    for name in parents:
        target = target[name]
    if value is _DROP:
        del target[last]
    else:
        target[last] = value
    return body


_DROP: Any = object()


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("hook", "patient-view", "hook must be appointment-book"),
        ("hookInstance", "not-a-uuid", "hookInstance must be a UUID"),
        ("hookInstance", _DROP, "hookInstance is required"),
        ("context", _DROP, "context is required"),
        ("context", [], "context must be a JSON object"),
        ("context.patientId", "../Patient/x", "context.patientId must be a FHIR id"),
        ("context.patientId", 7, "context.patientId is required"),
        ("context.encounterId", 5, "context.encounterId must be a string"),
        ("context.appointments", _DROP, "context.appointments is required"),
        ("context.appointments", {"resourceType": "Patient"}, "must be a FHIR Bundle"),
        ("context.appointments.entry", "x", "not a valid FHIR R4 Bundle"),
        ("context.appointments.entry", [], "at least one Appointment"),
        ("context.appointments.entry", [{"resource": patient()}], "at least one Appointment"),
        ("prefetch", "x", "prefetch must be a JSON object"),
        ("prefetch.patient", {"resourceType": "Practitioner"}, "must be a FHIR Patient"),
        ("prefetch.patient", patient(birthDate="April"), "not a valid FHIR R4 Patient"),
        (
            "fhirAuthorization",
            {"access_token": "t", "token_type": "Bearer"},
            "fhirServer is required",
        ),
        ("fhirServer", "ftp://x", "fhirServer must be an absolute"),
    ],
)
def test_malformed_requests_are_400(
    cds: FlaskClient, ehr: Ehr, path: str, value: Any, words: str
) -> None:
    _bad(_post(cds, ehr, _with(path, value)), words)


def test_a_bad_appointment_is_refused_without_echoing_it(cds: FlaskClient, ehr: Ehr) -> None:
    body = hook_body()
    body["context"]["appointments"]["entry"][0]["resource"]["start"] = "secret-value-1"

    response = _post(cds, ehr, body)

    _bad(response, "not a valid FHIR R4 Bundle")
    assert "secret-value-1" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("auth", "words"),
    [
        ({"access_token": "t", "token_type": "MAC"}, "token_type must be Bearer"),
        ({"token_type": "Bearer"}, "access_token is required"),
        ({"access_token": "t", "token_type": "Bearer", "expires_in": "300"}, "expires_in"),
    ],
)
def test_a_malformed_fhir_authorization_is_400(
    cds: FlaskClient, ehr: Ehr, auth: dict[str, Any], words: str
) -> None:
    body = without_prefetch(fhirServer=EHR_ISS, fhirAuthorization=auth)

    _bad(_post(cds, ehr, body), words)


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"{", "not JSON"), (b"[1]", "JSON object"), (b'{"hook": NaN}', "not JSON")],
)
def test_bodies_that_are_not_a_json_object_are_400(
    cds: FlaskClient, ehr: Ehr, data: bytes, words: str
) -> None:
    response = cds.post(
        SERVICE_PATH, data=data, headers=ehr.auth(), content_type="application/json"
    )

    _bad(response, words)


def test_a_body_that_is_not_json_typed_is_400(cds: FlaskClient, ehr: Ehr) -> None:
    response = cds.post(
        SERVICE_PATH, data=json.dumps(hook_body()), headers=ehr.auth(), content_type="text/plain"
    )

    _bad(response, "application/json")


def test_an_oversized_body_is_413_json(cds: FlaskClient, ehr: Ehr) -> None:
    body = hook_body()
    body["extension"] = {"padding": "x" * 8000}

    response = _post(cds, ehr, body)

    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert "larger than Quietline accepts" in response.json["message"]


def test_an_unknown_service_is_404_json(cds: FlaskClient, ehr: Ehr) -> None:
    response = cds.post("/cds-services/other", json=hook_body(), headers=ehr.auth())

    assert response.status_code == 404
    assert response.json["error"] == "unknown_service"
