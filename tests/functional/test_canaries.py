# SPDX-License-Identifier: Apache-2.0
"""No leaks, proven: distinctive canaries seeded into every PHI field every flow reaches.

The flows run over real HTTP against the sandbox EHR: launch and banner; screening, risk review,
safety plan and handout; code word (enrollment, a wrong and a right word, an appointment moved,
the word changed); notes (process note, minimal note with a kept detail, break-glass); delivery
to the EHR.  Then each canary is searched in every encoding (:mod:`tests.support.canaries`) in
the formatted logs with tracebacks and the access log, every column of every table before and
after delivery, the instance and data folders, every new temporary file, every URL, Location and
Set-Cookie header, and what the EHR stored.
"""

from __future__ import annotations

import base64
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from plugin.codeword.alerts import COMMUNICATION_TEXT
from plugin.content import CONTENT_VERSION
from plugin.content import FEAR
from plugin.content import SAFETY_PLAN
from plugin.content import SLII
from plugin.demo import DEMO_ROLE_MAPPING
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.services import TenantRegistration
from plugin.vault.models import VaultRecord
from smart_launch.backend import BackendServicesClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.server import RunningSandbox
from tests.support.canaries import FileSnapshot
from tests.support.canaries import Leak
from tests.support.canaries import LogCapture
from tests.support.canaries import captured_logs
from tests.support.canaries import changed_files
from tests.support.canaries import dump_database
from tests.support.canaries import read_tree
from tests.support.canaries import scan
from tests.support.canaries import snapshot
from tests.support.forms import csrf
from tests.support.forms import finding_ids
from tests.support.forms import textarea
from tests.support.servers import Quietline
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url
from tests.unit.plugin.codeword.ui_support import Person

NAME = "Quillonax Vextrabury"
PHONE = "555-0137-4242"
STREET = "88 Canaryvale Crescent"
FROM_EHR = (NAME, "Quillonax", "Vextrabury", PHONE, STREET)
"""The canary client's details, held by the EHR; Quietline shows them on pages only."""
PROCESS = "Canaryprocess Wistelmoor 7781"
REASON = "Canaryreason Thornquay 5521"
KEPT = "Canarykept Lodestrand 6612"
FEAR_TEXT = "Canaryfear Juniperholt 4410"
RATIONALE = "Canaryrationale Brackenmere 3307"
PLAN_TEXT = "Canaryplan Tante Ørsolyné 2291"
WORD = "Zephyrquill-Marrowvex-42"
WRONG_WORD = "Gravelmint-Oxbowfern-58"
NEW_WORD = "Brindlemoss-Quartzfen-17"
CLINICIAN = (PROCESS, REASON, KEPT, FEAR_TEXT, RATIONALE, PLAN_TEXT, WORD, WRONG_WORD, NEW_WORD)
"""What clinicians and callers typed: kept by Quietline, sealed, never sent to the EHR."""
MINIMAL = "CANARYMINIMAL3390"
"""In the minimal note: sealed in Quietline's outbox until the EHR has it."""
WRITER = ClientKeys.generate()
REGISTRAR_SCOPE = "system/Patient.cruds system/Encounter.cruds system/DocumentReference.rs"

EVERYWHERE = (*FROM_EHR, *CLINICIAN, MINIMAL)
"""Nothing Quietline keeps or emits outside its pages may hold any of these in clear."""


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    return {
        "extra_clients": (
            {"client_id": "registrar", "auth_method": "private_key_jwt", "jwks": WRITER.public_jwks(),
             "scope": REGISTRAR_SCOPE, "grant_types": ["client_credentials"]},
        )
    }  # fmt: skip


class Browser(Walker):
    """A walker that also keeps every ``Location`` header it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.locations: list[str] = []

    def _send(self, method: str, url: str, data: dict[str, str] | None) -> requests.Response:
        response = super()._send(method, url, data)
        if "Location" in response.headers:
            self.locations.append(response.headers["Location"])
        return response


def registrar(sandbox: RunningSandbox) -> dict[str, str]:
    token = BackendServicesClient(sandbox.fhir_base, "registrar", WRITER, REGISTRAR_SCOPE)
    return {"Authorization": f"Bearer {token.access_token()}",
            "Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}  # fmt: skip


def canary_patient(sandbox: RunningSandbox) -> str:
    """A client whose EHR details are canaries, with an encounter in progress."""
    headers = registrar(sandbox)
    patient = {"resourceType": "Patient", "birthDate": "1990-02-03",
               "name": [{"family": "Vextrabury", "given": ["Quillonax"], "text": NAME}],
               "telecom": [{"system": "phone", "value": PHONE}],
               "address": [{"line": [STREET], "city": "Canaryport"}]}  # fmt: skip
    made = requests.post(f"{sandbox.fhir_base}/Patient", json=patient, headers=headers, timeout=10)
    assert made.status_code == 201, made.text[:300]
    patient_id = str(made.json()["id"])
    encounter = {"resourceType": "Encounter", "status": "in-progress",
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                 "subject": {"reference": f"Patient/{patient_id}"}}  # fmt: skip
    made = requests.post(
        f"{sandbox.fhir_base}/Encounter", json=encounter, headers=headers, timeout=10
    )
    assert made.status_code == 201, made.text[:300]
    return patient_id


def second_clinician(quietline: Quietline) -> None:
    """Let the sandbox's ``admin`` user act as a clinician (who may break the glass)."""
    view = quietline.tenants.by_id("sandbox")
    quietline.tenants.register(
        TenantRegistration(
            id=view.id, name=view.name, iss=view.iss, client_id=view.client_id,
            auth_method=view.auth_method, scope=view.scope, frame_origins=view.frame_origins,
            role_mapping={**DEMO_ROLE_MAPPING, "users": {"Practitioner/admin": ["clinician"]}},
            options=view.options,
        )
    )  # fmt: skip


def launch_and_notes(quietline: Quietline, sandbox: RunningSandbox, patient: str) -> list[Browser]:
    """Launch and banner; process note; minimal note with a kept detail; break-glass."""
    walker = Browser()
    home = walker.get(ehr_launch_url(walker, sandbox.url, patient, "therapist"))
    assert home.status_code == 200
    assert NAME in home.text  # the banner shows it: pages are where PHI belongs
    base = home.url.rstrip("/")
    index = walker.get(f"{base}/notes/")
    walker.post(f"{base}/notes/process", {"csrf": csrf(index.text), "text": f"Said {PROCESS}"})
    editor = walker.post(
        f"{base}/notes/draft",
        {"csrf": csrf(index.text), "screening_completed": "yes", "referral_offered": "yes"},
    )
    note = textarea(editor.text, "note-text") + f" Reference {MINIMAL}, billing@example.org."
    checked = walker.post(f"{base}/notes/check", {"csrf": csrf(editor.text), "text": note})
    form = {"csrf": csrf(checked.text), "text": note, "release": "release"}
    assert finding_ids(checked.text), "the check flags the reference"
    for finding in finding_ids(checked.text):
        form[f"keep:{finding}"] = "yes"
        form[f"reason:{finding}"] = KEPT
    signed = walker.post(f"{base}/notes/sign", form)
    assert 'id="signed-notice"' in signed.text, signed.text[-600:]

    with get_service(Database, quietline.app).session() as session:
        process_id = session.scalars(
            select(VaultRecord.id).where(VaultRecord.record_type == "process-note")
        ).one()
    other = Browser()
    other_base = other.get(ehr_launch_url(other, sandbox.url, patient, "admin")).url.rstrip("/")
    denied = other.get(f"{other_base}/notes/records/{process_id}")
    opened = other.post(
        f"{other_base}/notes/records/{process_id}",
        {"csrf": csrf(denied.text), "reason": f"Emergency {REASON}"},
    )
    assert PROCESS in opened.text
    return [walker, other]


def review_flows(quietline: Quietline, sandbox: RunningSandbox, patient: str) -> list[Browser]:
    """Screening with free text, risk review, safety plan, the discreet handout."""
    walker = Browser()
    base = walker.get(ehr_launch_url(walker, sandbox.url, patient, "therapist")).url.rstrip("/")
    index = walker.get(f"{base}/review/")
    screening = walker.post(f"{base}/review/start", {"csrf": csrf(index.text)})
    first = SLII[0].items[0]
    fear = next(item for item in FEAR.items if item.kind == "text")
    answers = {first.link_id: "yes", f"{first.link_id}.frequency": "weekly",
               fear.link_id: FEAR_TEXT}  # fmt: skip
    version = {"content_version": CONTENT_VERSION, "action": "next"}
    risk = walker.post(screening.url, {"csrf": csrf(screening.text), **version, **answers})
    assert risk.url.endswith("/risk"), risk.text[-600:]
    plan = walker.post(risk.url, {"csrf": csrf(risk.text), **version, "concern": "moderate",
                                  "rationale": RATIONALE})  # fmt: skip
    assert plan.url.endswith("/plan"), plan.text[-600:]
    prompt = next(i for s in SAFETY_PLAN for i in s.prompts if i.kind == "text")
    wrap = walker.post(plan.url, {"csrf": csrf(plan.text), **version, prompt.link_id: PLAN_TEXT})
    assert wrap.status_code == 200
    handout = walker.get(f"{quietline.url}/content/handout/discreet")
    assert handout.status_code == 200
    editor = walker.post(f"{wrap.url.rsplit('/', 1)[0]}/finish", {"csrf": csrf(wrap.text)})
    assert editor.status_code == 200
    assert RATIONALE not in textarea(editor.text, "note-text")
    return [walker]


def code_word_flows(sandbox: RunningSandbox) -> list[Browser]:
    """Enrollment, a wrong and a right word, an appointment moved, the word changed."""
    browsers = [Browser(), Browser()]
    therapist = Person(sandbox, "therapist", walker=browsers[0])
    desk = Person(sandbox, "frontdesk", walker=browsers[1])
    therapist.launch()
    desk.launch()
    assert therapist.enroll(WORD).url.endswith("?done=enrolled")
    assert desk.verify(WRONG_WORD).status_code == 400
    granted = desk.verify(WORD)
    assert granted.status_code == 200
    moved = desk.submit(granted.text, "/codeword/change", date="2031-05-06", time="09:30")
    assert moved.url.endswith("?done=reschedule")
    page = therapist.get("/codeword/enroll")
    changed = therapist.post("/codeword/enroll", {"csrf": csrf(page.text), "reason": "change",
                                                  "current": WORD, "word": NEW_WORD,
                                                  "confirm": NEW_WORD, "present": "yes"})  # fmt: skip
    assert changed.url.endswith("?done=changed"), changed.text[-600:]
    return browsers


def deliver_all(quietline: Quietline) -> int:
    worker = get_service(OutboxWorker, quietline.app)
    total = 0
    while (sent := worker.run_once()) > 0:
        total += sent
    return total


@dataclass
class Watch:
    """What is observed while the flows run."""

    logs: LogCapture
    temp_root: Path
    temp_before: FileSnapshot
    skip: tuple[Path, ...]
    browsers: list[Browser] = field(default_factory=list)


@pytest.fixture
def watch(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Watch]:
    """Logs captured, and this process's temporary folder moved into this session's own
    folder, so that every file created under it is seen, and none of another process's."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setenv("TMPDIR", str(private))
    temp_root = tmp_path_factory.getbasetemp()
    with captured_logs() as logs:
        yield Watch(logs, temp_root, snapshot(temp_root), ())


def _sandbox_files(sandbox: RunningSandbox) -> list[Path]:
    db = sandbox.config.db_path
    return [p for p in db.parent.iterdir() if p.name.startswith(db.name)]


def _quietline_files(quietline: Quietline, sandbox: RunningSandbox) -> list[Path]:
    """The instance folder, Quietline's data folder (its SQLite files) and audit anchors."""
    ehr = set(_sandbox_files(sandbox))
    data = [p for p in sandbox.config.db_path.parent.iterdir() if p not in ehr]
    return [quietline.settings.instance_path, *data]


def _traffic(browsers: list[Browser]) -> dict[str, bytes]:
    places: dict[str, bytes] = {}
    for index, browser in enumerate(browsers):
        places[f"urls:{index}"] = "\n".join(browser.visited).encode()
        places[f"location-headers:{index}"] = "\n".join(browser.locations).encode()
        places[f"set-cookie-headers:{index}"] = "\n".join(browser.set_cookie_headers).encode()
    return places


def _ehr_rows(sandbox: RunningSandbox) -> list[tuple[str, str]]:
    uri = f"file:{sandbox.config.db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute(
            "SELECT type, body FROM resources UNION ALL SELECT type, body FROM resource_history"
        ).fetchall()
    return [(str(kind), str(body)) for kind, body in rows]


def _report(leaks: list[Leak]) -> str:
    return "leaks:\n" + "\n".join(str(leak) for leak in leaks[:40])


def quietline_leaks(quietline: Quietline, sandbox: RunningSandbox, watch: Watch) -> list[Leak]:
    """Every canary, in any form, in what Quietline keeps or emits outside its pages: the
    database, the formatted logs, URLs and headers, its folders and every file created or
    changed under the temporary folder (this session's, which holds the process's own)."""
    ehr_files = set(_sandbox_files(sandbox))
    temp = [
        p
        for p in changed_files(watch.temp_before, watch.temp_root, watch.skip)
        if p not in ehr_files
    ]
    assert any(p.is_relative_to(quietline.settings.instance_path) for p in temp)
    own_files = read_tree(_quietline_files(quietline, sandbox), "quietline-files")
    assert any(place.endswith(".json") for place in own_files)
    assert b"GET /l/" in watch.logs.text()  # the access log is read
    places = {
        **dump_database(get_service(Database, quietline.app).engine),
        "logs": watch.logs.text(),
        **_traffic(watch.browsers),
        **own_files,
        **read_tree(temp, "temp"),
    }
    return scan(places, EVERYWHERE)


def test_no_canary_leaves_where_it_belongs(
    quietline: Quietline, sandbox: RunningSandbox, watch: Watch
) -> None:
    second_clinician(quietline)
    patient = canary_patient(sandbox)
    watch.browsers += launch_and_notes(quietline, sandbox, patient)
    watch.browsers += review_flows(quietline, sandbox, patient)
    watch.browsers += code_word_flows(sandbox)

    queued = dump_database(get_service(Database, quietline.app).engine)
    assert queued["database:outbox_items.sealed_payload"], "the outbox holds the queued writes"
    before = scan(queued, EVERYWHERE)
    assert before == [], _report(before)

    assert deliver_all(quietline) >= 3  # the note, the alert of the wrong word, the Provenance
    after = quietline_leaks(quietline, sandbox, watch)
    assert after == [], _report(after)

    # The EHR's own files hold its patient, the minimal note and nothing the clinician typed.
    ehr_files = read_tree(sorted(_sandbox_files(sandbox)), "ehr-files")
    assert ehr_files
    leaks = scan(ehr_files, CLINICIAN)
    assert leaks == [], _report(leaks)
    rows = _ehr_rows(sandbox)
    leaks = scan({f"ehr:{kind}:{i}": body.encode() for i, (kind, body) in enumerate(rows)},
                 (*CLINICIAN, MINIMAL))  # fmt: skip
    assert {leak.place.split(":")[1] for leak in leaks} == {"DocumentReference"}
    assert {leak.canary for leak in leaks} == {MINIMAL}

    documents = requests.get(
        f"{sandbox.fhir_base}/DocumentReference",
        params={"subject": f"Patient/{patient}"},
        headers=registrar(sandbox),
        timeout=10,
    ).json()["entry"]
    assert len(documents) == 1
    note = base64.b64decode(documents[0]["resource"]["content"][0]["attachment"]["data"]).decode()
    assert MINIMAL in note
    assert scan({"note": note.encode()}, (*FROM_EHR, *CLINICIAN)) == []
    wording = set(COMMUNICATION_TEXT.values())
    sent = [body for kind, body in rows if kind == "Communication" and '"Practitioner/' in body]
    assert sent, "the failed verification alerted the clinician in the EHR"
    assert all(any(text in body for text in wording) for body in sent)
