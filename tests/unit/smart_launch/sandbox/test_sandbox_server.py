# SPDX-License-Identifier: Apache-2.0
"""Server plumbing: start/stop, the request log, the quiet access log, seed data and the CLI."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import requests

from smart_launch.sandbox import ClientRegistration
from smart_launch.sandbox import ConfigError
from smart_launch.sandbox import SandboxConfig
from smart_launch.sandbox import create_sandbox_app
from smart_launch.sandbox import load_clients
from smart_launch.sandbox import start
from smart_launch.sandbox.seed import EMERGENCY_CONTACT
from smart_launch.sandbox.seed import ENCOUNTERS
from smart_launch.sandbox.seed import FRONT_DESK
from smart_launch.sandbox.seed import PATIENTS
from smart_launch.sandbox.seed import PORTAL_PROXY
from smart_launch.sandbox.seed import PRACTICE_ADMIN
from smart_launch.sandbox.seed import STAFF_ROLE_SYSTEM
from smart_launch.sandbox.seed import THERAPIST
from smart_launch.sandbox.seed import USERS

if TYPE_CHECKING:
    from pathlib import Path

    from smart_launch.sandbox import RunningSandbox
    from tests.unit.smart_launch.sandbox.conftest import Flow


def test_start_binds_a_free_port_and_fixes_public_url(sandbox: RunningSandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    assert not sandbox.url.endswith(":0")
    assert sandbox.fhir_base == sandbox.url + "/fhir"
    assert sandbox.config.public_url == sandbox.url
    assert requests.get(sandbox.url + "/", timeout=5).status_code == 200


def test_port_zero_fixes_the_port_of_a_given_public_url(tmp_path: Path) -> None:
    config = SandboxConfig(public_url="http://localhost:0", db_path=tmp_path / "ehr.sqlite3")
    with start(config) as ehr:
        port = ehr.url.rsplit(":", 1)[1]
        assert port.isdigit()
        assert port != "0"
        assert ehr.url == f"http://localhost:{port}"
        assert config.public_url == ehr.url
        doc = requests.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=5)
        assert doc.json()["issuer"] == ehr.url


def test_stop_closes_the_port(tmp_path: Path) -> None:
    with start(SandboxConfig(db_path=tmp_path / "ehr.sqlite3")) as ehr:
        url = ehr.url
        assert requests.get(url + "/fhir/metadata", timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/fhir/metadata", timeout=2)


def test_create_sandbox_app_needs_a_public_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        create_sandbox_app(SandboxConfig(db_path=tmp_path / "ehr.sqlite3"))


def test_request_log_keeps_everything_tests_need(flow: Flow) -> None:
    flow.ehr.request_log.clear()
    code = flow.code()
    flow.exchange(code)
    authorize = flow.ehr.request_log.matching("/auth/authorize")
    assert len(authorize) == 1
    assert authorize[0].method == "GET"
    assert authorize[0].args["code_challenge_method"] == "S256"
    assert authorize[0].args["launch"]
    token = flow.ehr.request_log.matching("/auth/token", method="POST")[0]
    assert token.form["code"] == code
    assert token.headers["Authorization"].startswith("Basic ")
    assert len(flow.ehr.request_log) == len(list(flow.ehr.request_log))
    flow.ehr.request_log.clear()
    assert len(flow.ehr.request_log) == 0


def test_console_access_log_never_prints_query_strings(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    launch = flow.launch()
    code = flow.code(launch=launch)
    flow.http.get(flow.ehr.url + "/ehr/launch?patient=pat-1&user=therapist&token=abc123")
    text = caplog.text
    assert "/auth/authorize" in text
    assert "/ehr/launch" in text
    for secret in (code, launch, "code=", "launch=", "token=abc123", flow.state, "?"):
        assert secret not in text


def test_seed_constants_and_staff_roles(flow: Flow, user_token: str) -> None:
    assert set(USERS) == {THERAPIST, FRONT_DESK, PRACTICE_ADMIN}
    assert USERS[THERAPIST] == "Dr. Morgan Reyes"
    assert PATIENTS == ("pat-1", "pat-2", "pat-3", "pat-4", "pat-5", "pat-6")
    roles = flow.fhir("GET", "/PractitionerRole", user_token, params={"_count": "10"}).json()
    codes = {
        entry["resource"]["id"]: entry["resource"]["code"][0]["coding"][0]
        for entry in roles["entry"]
    }
    assert codes["role-therapist"] == {
        "system": STAFF_ROLE_SYSTEM,
        "code": "therapist",
        "display": "Therapist",
    }
    assert codes["role-frontdesk"]["code"] == "front-desk"
    assert codes["role-admin"]["code"] == "practice-admin"
    org = flow.fhir("GET", "/Organization/org-practice", user_token).json()
    assert org["name"] == "Harbour Street Counselling"


def test_seed_patients_have_encounters_appointments_and_contacts(
    flow: Flow, user_token: str
) -> None:
    for patient in PATIENTS:
        encounter = flow.fhir("GET", f"/Encounter/{ENCOUNTERS[patient]}", user_token).json()
        assert encounter["status"] == "in-progress"
        booked = flow.fhir(
            "GET",
            "/Appointment",
            user_token,
            params={
                "patient": patient,
                "status": "booked",
                "date": "gt" + encounter["period"]["start"],
            },
        ).json()
        assert booked["total"] == 2
        fulfilled = flow.fhir(
            "GET", "/Appointment", user_token, params={"patient": patient, "status": "fulfilled"}
        ).json()
        assert fulfilled["total"] == 1
    pat2 = flow.fhir("GET", "/Patient/pat-2", user_token).json()
    assert pat2["contact"][0]["relationship"][0]["coding"][0]["code"] == "C"
    emergency = flow.fhir("GET", f"/RelatedPerson/{EMERGENCY_CONTACT}", user_token).json()
    assert emergency["patient"]["reference"] == "Patient/pat-2"
    proxies = flow.fhir("GET", "/RelatedPerson", user_token, params={"patient": "pat-3"}).json()
    assert [entry["resource"]["id"] for entry in proxies["entry"]] == [PORTAL_PROXY]
    assert proxies["entry"][0]["resource"]["relationship"][0]["coding"][1]["code"] == "portal-proxy"


def test_clients_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(
        json.dumps(
            [
                {
                    "client_id": "demo",
                    "auth_method": "client_secret_basic",
                    "client_secret": "s",
                    "redirect_uris": ["http://localhost:8701/cb"],
                    "launch_url": "http://localhost:8701/launch",
                    "scope": "launch openid",
                    "grant_types": ["authorization_code"],
                }
            ]
        ),
        encoding="utf-8",
    )
    [client] = load_clients(path)
    assert client == ClientRegistration(
        client_id="demo",
        client_secret="s",
        redirect_uris=("http://localhost:8701/cb",),
        launch_url="http://localhost:8701/launch",
        scope="launch openid",
        grant_types=("authorization_code",),
    )
    path.write_text(json.dumps([{"client_id": "x", "auth_method": "private_key_jwt"}]))
    with pytest.raises(ConfigError):
        load_clients(path)


def test_python_m_runs_in_the_foreground(tmp_path: Path) -> None:
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{"client_id": "demo", "client_secret": "s"}]))
    command = [
        sys.executable,
        "-m",
        "smart_launch.sandbox",
        "--port",
        "0",
        "--db",
        str(tmp_path / "ehr.sqlite3"),
        "--clients",
        str(clients),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline()
            assert line.startswith("Sandbox EHR running at http://127.0.0.1:"), line
            url = line.split(" at ", 1)[1].split(" ", 1)[0]
            response = requests.get(url + "/fhir/metadata?code=secret-code", timeout=5)
            assert response.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "GET /fhir/metadata" in stderr
    assert "secret-code" not in stderr
