# SPDX-License-Identifier: Apache-2.0
"""The demo contract: `quietline demo` runs the sandbox EHR and Quietline on two sites."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests

from plugin.demo import wait_for
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_runs_both_sites_and_stops_cleanly(tmp_path: Path) -> None:
    ehr_port, app_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_URL"}}
    quietline = str(Path(sys.executable).parent / "quietline")
    args = [quietline, "demo", "--ehr-port", str(ehr_port), "--app-port", str(app_port)]
    process = subprocess.Popen(
        [*args, "--data", str(tmp_path / "demo")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ehr = f"http://127.0.0.1:{ehr_port}"
    try:
        wait_for(f"{ehr}/fhir/metadata", alive=lambda: process.poll() is None)
        wait_for(f"http://localhost:{app_port}/healthz", alive=lambda: process.poll() is None)
        index = requests.get(f"{ehr}/", timeout=5).text
        for patient in ("pat-1", "pat-6"):
            assert f"patient={patient}" in index
        for user in ("therapist", "frontdesk", "admin"):
            assert f"user={user}" in index
        walker = Walker()
        launch_url = ehr_launch_url(walker, ehr, "pat-1", "therapist")
        parts = urlsplit(launch_url)
        assert (
            f"{parts.scheme}://{parts.netloc}{parts.path}" == f"http://localhost:{app_port}/launch"
        )
        assert parse_qs(parts.query)["iss"] == [f"{ehr}/fhir"]
        home = walker.get(launch_url)
        assert home.status_code == 200
        assert 'id="patient-name"' in home.text
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert f"Sandbox EHR: {ehr}/" in output
    assert process.returncode == 0
    assert "Traceback" not in output
    # The sandbox child process is gone with it: nothing answers on its port any more.
    try:
        requests.get(f"{ehr}/fhir/metadata", timeout=2)
    except requests.ConnectionError:
        pass
    else:
        msg = "the sandbox EHR is still running after the demo stopped"
        raise AssertionError(msg)
