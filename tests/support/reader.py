# SPDX-License-Identifier: Apache-2.0
"""The separate "reader" backend client that tests register at the sandbox EHR to read the
DocumentReferences that reached it, independently of Quietline's own client."""

from __future__ import annotations

from typing import Any

import requests

from smart_launch.backend import BackendServicesClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox

READER = ClientKeys.generate()
READER_SCOPE = "system/DocumentReference.rs"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def reader_options() -> dict[str, Any]:
    """Sandbox options that register the reader as an extra backend client."""
    return {
        "extra_clients": (
            {
                "client_id": "reader",
                "auth_method": "private_key_jwt",
                "jwks": READER.public_jwks(),
                "scope": READER_SCOPE,
                "grant_types": ["client_credentials"],
            },
        )
    }


def ehr_documents(sandbox: RunningSandbox, params: dict[str, str]) -> list[dict[str, Any]]:
    """The DocumentReferences the sandbox EHR finds for the search ``params``."""
    backend = BackendServicesClient(sandbox.fhir_base, "reader", READER, READER_SCOPE)
    response = requests.get(
        f"{sandbox.fhir_base}/DocumentReference",
        params=params,
        headers={
            "Authorization": f"Bearer {backend.access_token()}",
            "Accept": "application/fhir+json",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text[:300]
    return [entry["resource"] for entry in response.json().get("entry", [])]
