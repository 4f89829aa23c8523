# SPDX-License-Identifier: Apache-2.0
"""Prefetch against a real FHIR server (the sandbox over HTTP): used when present, read with
``fhirAuthorization`` when missing, 412 when missing and unreadable."""

from __future__ import annotations

import secrets
from typing import Any

import requests

from smart_launch.sandbox.grants import NewToken
from smart_launch.sandbox.models import Subject
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.support.servers import Quietline
from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import enroll
from tests.unit.plugin.cds.support import hook_body
from tests.unit.plugin.cds.support import without_prefetch


def _fhir_token(sandbox: RunningSandbox, patient_id: str) -> dict[str, Any]:
    """A ``patient/Patient.r`` token, as the EHR issues one for ``fhirAuthorization``."""
    token = secrets.token_urlsafe(32)
    get_state(sandbox.app).grants.save_token(
        NewToken(
            access_token=token,
            refresh_token=None,
            family=secrets.token_hex(16),
            client_id="quietline",
            subject=Subject("frontdesk", patient_id),
            scope="patient/Patient.r",
            expires_in=300,
            refresh_lifetime=None,
        )
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": 300,
            "scope": "patient/Patient.r", "subject": "quietline"}  # fmt: skip


def _call(quietline: Quietline, sandbox: RunningSandbox, body: dict[str, Any]) -> Any:
    url = quietline.url + SERVICE_PATH
    jwt = get_state(sandbox.app).cds_key.sign(
        issuer=sandbox.url, jku=sandbox.config.cds_jwks_uri, audience=url
    )
    return requests.post(url, json=body, headers={"Authorization": f"Bearer {jwt}"}, timeout=10)


def _patient_reads(sandbox: RunningSandbox) -> list[Any]:
    return sandbox.request_log.matching("/fhir/Patient")


def test_prefetched_data_is_used_without_calling_the_fhir_server(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    enroll(quietline.app, "sandbox", "pat-1")
    access = _fhir_token(sandbox, "pat-1")
    body = hook_body("pat-1", fhirServer=sandbox.fhir_base, fhirAuthorization=access)
    sandbox.request_log.clear()

    response = _call(quietline, sandbox, body)

    assert response.status_code == 200
    assert len(response.json()["cards"]) == 1
    assert _patient_reads(sandbox) == []


def test_a_missing_prefetch_is_read_from_the_fhir_server(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    enroll(quietline.app, "sandbox", "pat-2")
    access = _fhir_token(sandbox, "pat-2")
    sandbox.request_log.clear()

    response = _call(
        quietline,
        sandbox,
        without_prefetch("pat-2", fhirServer=sandbox.fhir_base, fhirAuthorization=access),
    )

    assert response.status_code == 200
    assert len(response.json()["cards"]) == 1
    (read,) = _patient_reads(sandbox)
    assert (read.method, read.path) == ("GET", "/fhir/Patient/pat-2")
    assert read.headers["Authorization"] == f"Bearer {access['access_token']}"


def test_a_patient_the_fhir_server_does_not_know_gets_no_cards(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    access = _fhir_token(sandbox, "pat-404")

    response = _call(
        quietline,
        sandbox,
        without_prefetch("pat-404", fhirServer=sandbox.fhir_base, fhirAuthorization=access),
    )

    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_a_refused_read_is_412(quietline: Quietline, sandbox: RunningSandbox) -> None:
    # The token is for another patient: the FHIR server refuses the read.
    access = _fhir_token(sandbox, "pat-3")

    response = _call(
        quietline,
        sandbox,
        without_prefetch("pat-1", fhirServer=sandbox.fhir_base, fhirAuthorization=access),
    )

    assert response.status_code == 412
    assert response.json()["error"] == "prefetch_unavailable"
    assert len(_patient_reads(sandbox)) == 1


def test_an_expired_fhir_token_is_412(quietline: Quietline, sandbox: RunningSandbox) -> None:
    access = {"access_token": "never-issued", "token_type": "Bearer"}

    response = _call(
        quietline,
        sandbox,
        without_prefetch("pat-1", fhirServer=sandbox.fhir_base, fhirAuthorization=access),
    )

    assert response.status_code == 412


def test_missing_prefetch_and_no_fhir_server_is_412_without_calls(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    sandbox.request_log.clear()

    response = _call(quietline, sandbox, without_prefetch("pat-1"))

    assert response.status_code == 412
    assert _patient_reads(sandbox) == []
