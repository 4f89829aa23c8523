# SPDX-License-Identifier: Apache-2.0
"""No leaks, proven: distinctive canaries seeded into every PHI field the flows reach.

After the flows (launch, banner, process note, minimal note with a kept detail, break-glass,
delivery to the EHR) no canary appears in application logs, in any database column, in the
instance folder, in new temporary files or in any URL; and nothing but the minimal note's text
reaches the EHR.
"""

from __future__ import annotations

import base64
import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy import text

from plugin.demo import DEMO_ROLE_MAPPING
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from plugin.store import Database
from plugin.store.base import Base
from plugin.tenants.services import TenantRegistration
from plugin.vault.models import VaultRecord
from smart_launch.backend import BackendServicesClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import csrf
from tests.support.forms import finding_ids
from tests.support.forms import textarea
from tests.support.servers import Quietline
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url

NAME = "Quillonax Vextrabury"
PHONE = "555-0137-4242"
STREET = "88 Canaryvale Crescent"
PROCESS = "CANARYPROCESS7781"
REASON = "CANARYREASON5521"
MINIMAL = "CANARYMINIMAL3390"
FROM_EHR = (NAME, "Quillonax", "Vextrabury", PHONE, STREET)
FROM_CLINICIAN = (PROCESS, REASON)
WRITER = ClientKeys.generate()


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    return {
        "extra_clients": (
            {"client_id": "registrar", "auth_method": "private_key_jwt", "jwks": WRITER.public_jwks(),
             "scope": "system/Patient.cruds system/Encounter.cruds system/DocumentReference.rs",
             "grant_types": ["client_credentials"]},
        )
    }  # fmt: skip


def _registrar(sandbox: RunningSandbox) -> dict[str, str]:
    scope = "system/Patient.cruds system/Encounter.cruds system/DocumentReference.rs"
    token = BackendServicesClient(sandbox.fhir_base, "registrar", WRITER, scope).access_token()
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json"}  # fmt: skip


def _canary_patient(sandbox: RunningSandbox) -> str:
    headers = _registrar(sandbox)
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Vextrabury", "given": ["Quillonax"], "text": NAME}],
        "telecom": [{"system": "phone", "value": PHONE}],
        "address": [{"line": [STREET], "city": "Canaryport"}],
        "birthDate": "1990-02-03",
    }
    created = requests.post(
        f"{sandbox.fhir_base}/Patient", json=patient, headers=headers, timeout=10
    )
    assert created.status_code == 201, created.text[:300]
    patient_id = created.json()["id"]
    encounter = {"resourceType": "Encounter", "status": "in-progress",
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                 "subject": {"reference": f"Patient/{patient_id}"}}  # fmt: skip
    made = requests.post(
        f"{sandbox.fhir_base}/Encounter", json=encounter, headers=headers, timeout=10
    )
    assert made.status_code == 201, made.text[:300]
    return str(patient_id)


def _second_clinician(quietline: Quietline) -> None:
    view = quietline.tenants.by_id("sandbox")
    quietline.tenants.register(
        TenantRegistration(
            id=view.id, name=view.name, iss=view.iss, client_id=view.client_id,
            auth_method=view.auth_method, scope=view.scope, frame_origins=view.frame_origins,
            role_mapping={**DEMO_ROLE_MAPPING, "users": {"Practitioner/admin": ["clinician"]}},
        )
    )  # fmt: skip


def _run_flows(quietline: Quietline, sandbox: RunningSandbox, patient: str) -> list[str]:
    """Every flow that touches PHI; returns every URL the browsers requested."""
    walker = Walker()
    home = walker.get(ehr_launch_url(walker, sandbox.url, patient, "therapist"))
    assert home.status_code == 200
    assert NAME in home.text  # the banner shows it: pages are where PHI belongs
    base = home.url.rstrip("/")
    index = walker.get(f"{base}/notes/")
    walker.post(
        f"{base}/notes/process", {"csrf": csrf(index.text), "text": f"Session detail {PROCESS}"}
    )
    editor = walker.post(
        f"{base}/notes/draft",
        {"csrf": csrf(index.text), "screening_completed": "yes", "referral_offered": "yes"},
    )
    note = textarea(editor.text, "note-text") + f" Reference {MINIMAL}."
    checked = walker.post(f"{base}/notes/check", {"csrf": csrf(editor.text), "text": note})
    form = {"csrf": csrf(checked.text), "text": note, "release": "release"}
    for finding in finding_ids(checked.text):
        form[f"keep:{finding}"] = "yes"
        form[f"reason:{finding}"] = "Billing reference"
    signed = walker.post(f"{base}/notes/sign", form)
    assert 'id="signed-notice"' in signed.text, signed.text[-600:]

    with get_service(Database, quietline.app).session() as session:
        process_id = session.scalars(
            select(VaultRecord.id).where(VaultRecord.record_type == "process-note")
        ).one()
    other = Walker()
    other_home = other.get(ehr_launch_url(other, sandbox.url, patient, "admin"))
    other_base = other_home.url.rstrip("/")
    denied = other.get(f"{other_base}/notes/records/{process_id}")
    opened = other.post(
        f"{other_base}/notes/records/{process_id}",
        {"csrf": csrf(denied.text), "reason": f"Emergency {REASON}"},
    )
    assert PROCESS in opened.text
    assert get_service(OutboxWorker, quietline.app).run_once() == 1
    return walker.visited + other.visited


def _database_dump(quietline: Quietline) -> str:
    parts: list[str] = []
    with get_service(Database, quietline.app).engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def _files_text(paths: list[Path]) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in paths if p.is_file())


def test_no_canary_leaves_where_it_belongs(
    quietline: Quietline, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _second_clinician(quietline)
    temp_dir = Path(tempfile.gettempdir())
    temp_before = set(temp_dir.iterdir())
    patient = _canary_patient(sandbox)
    urls = _run_flows(quietline, sandbox, patient)

    logs = "\n".join(record.getMessage() for record in caplog.records)
    database = _database_dump(quietline)
    instance = _files_text(list(quietline.settings.instance_path.rglob("*")))
    new_temp = list(set(temp_dir.iterdir()) - temp_before)
    temp = _files_text([p for p in new_temp if p.is_file()])
    for canary in (*FROM_EHR, *FROM_CLINICIAN, MINIMAL):
        assert canary not in logs, f"{canary} in logs"
        assert canary not in database, f"{canary} in a database column"
        assert canary not in instance, f"{canary} in the instance folder"
        assert canary not in temp, f"{canary} in a temporary file"
        assert all(canary not in url for url in urls), f"{canary} in a URL"

    # What reached the EHR: the minimal note, and nothing the clinician kept in Quietline.
    ehr_store = _files_text(
        [sandbox.config.db_path, *sandbox.config.db_path.parent.glob("*.db-wal")]
    )
    for canary in FROM_CLINICIAN:
        assert canary not in ehr_store, f"{canary} reached the EHR"
    documents = requests.get(
        f"{sandbox.fhir_base}/DocumentReference",
        params={"subject": f"Patient/{patient}"},
        headers=_registrar(sandbox),
        timeout=10,
    ).json()["entry"]
    assert len(documents) == 1
    sent = str(documents[0]["resource"])
    note = base64.b64decode(documents[0]["resource"]["content"][0]["attachment"]["data"]).decode()
    assert MINIMAL in note
    for canary in (*FROM_EHR, *FROM_CLINICIAN):
        assert canary not in sent
        assert canary not in note
