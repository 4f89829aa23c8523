# SPDX-License-Identifier: Apache-2.0
"""Real FHIR servers for the contract tests, each started once per session on 127.0.0.1.

``sekmet`` is SEKMET (a FastAPI FHIR R4 server) run by uvicorn in a subprocess; ``sandbox`` is
the embedded EHR in :mod:`smart_launch.sandbox`.  Every test that takes ``contract_server`` runs
against both.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
import requests
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.patient import Patient

from smart_launch.backend import BackendServicesClient
from smart_launch.fhir import FhirClient
from smart_launch.http import make_session
from smart_launch.keys import ClientKeys
from smart_launch.sandbox import ClientRegistration
from smart_launch.sandbox import SandboxConfig
from smart_launch.sandbox import start

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from pathlib import Path

SERVER_KINDS = ["sandbox", "sekmet"]
SCOPE = "system/*.cruds"
CLIENT_ID = "quietline-backend"
SYSTEM = "urn:quietline:test:mrn"


@dataclass
class ContractServer:
    """One running FHIR server and how our client is registered with it."""

    kind: str
    fhir_base: str
    client_ids: dict[str, str]
    """Client id to use per assertion algorithm."""
    max_expires_in: int
    """The largest ``expires_in`` this server is expected to answer."""
    stop: Callable[[], None]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_metadata(fhir_base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"SEKMET exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{fhir_base}/metadata", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"SEKMET did not answer /fhir/metadata:\n{log.read_text()[-4000:]}")


def start_sekmet(workdir: Path, keys: ClientKeys) -> ContractServer:
    """Run SEKMET with SMART Backend Services auth and our client registered.

    SEKMET 0.1.1 tries every key of a client's JWKS with PyJWT and catches only PyJWT errors;
    an ES384 assertion checked against an RSA key raises TypeError and the token endpoint
    answers 500.  So the app's full JWKS (RSA first) is registered for RS384, and a second
    client with only the EC key serves ES384.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    fhir_base = f"http://127.0.0.1:{port}/fhir"
    public = keys.public_jwks()
    ec_only = {"keys": [k for k in public["keys"] if k["kty"] == "EC"]}
    settings = {
        "base_url": fhir_base,
        "host": "127.0.0.1",
        "port": port,
        "data_dir": str(workdir / "data"),
        "db_path": str(workdir / "data" / "sekmet.db"),
        "own_private_key_path": str(workdir / "keys" / "sekmet_private.pem"),
        "server_auth": {
            "types": ["smart"],
            "smart_clients": [
                {"client_id": CLIENT_ID, "jwks": public, "scopes": "system/*.*"},
                {"client_id": f"{CLIENT_ID}-es384", "jwks": ec_only, "scopes": "system/*.*"},
            ],
        },
        "validation": {"inbound": "strict"},
        "simulator": {"enabled": False},
        # a spec-allowed variation: literal references come back absolute (as Firely answers)
        "server_behaviour": {"absolute_references": True},
        "log_inbound": False,
    }
    config = workdir / "settings.yaml"
    config.write_text(json.dumps(settings), encoding="utf-8")  # JSON is valid YAML
    log = workdir / "sekmet.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "sekmet.main:app_factory",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=workdir,
            env={**os.environ, "SEKMET_CONFIG": str(config)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_for_metadata(fhir_base, proc, log)

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    return ContractServer(
        kind="sekmet",
        fhir_base=fhir_base,
        client_ids={"RS384": CLIENT_ID, "ES384": f"{CLIENT_ID}-es384"},
        max_expires_in=3600,  # SEKMET's token_lifetime default; SMART says SHOULD NOT exceed 300
        stop=stop,
    )


def start_sandbox(workdir: Path, keys: ClientKeys) -> ContractServer:
    """Run the embedded EHR with our client registered for Backend Services."""
    workdir.mkdir(parents=True, exist_ok=True)
    registration = ClientRegistration(
        client_id=CLIENT_ID,
        auth_method="private_key_jwt",
        jwks=keys.public_jwks(),
        grant_types=("client_credentials",),
        scope="system/*.cruds",
    )
    running = start(SandboxConfig(db_path=workdir / "sandbox.sqlite3", clients=[registration]))
    return ContractServer(
        kind="sandbox",
        fhir_base=running.fhir_base,
        client_ids={"RS384": CLIENT_ID, "ES384": CLIENT_ID},
        max_expires_in=300,
        stop=running.stop,
    )


STARTERS: dict[str, Callable[[Path, ClientKeys], ContractServer]] = {
    "sandbox": start_sandbox,
    "sekmet": start_sekmet,
}


@pytest.fixture(scope="session")
def client_keys() -> ClientKeys:
    return ClientKeys.generate()


@pytest.fixture(scope="session", params=SERVER_KINDS)
def server_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def contract_server(
    server_kind: str, client_keys: ClientKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContractServer]:
    server = STARTERS[server_kind](tmp_path_factory.mktemp(server_kind), client_keys)
    yield server
    server.stop()


@pytest.fixture
def start_server(
    server_kind: str, client_keys: ClientKeys, tmp_path: Path
) -> Iterator[Callable[[], ContractServer]]:
    """Start a private server of the current kind (for tests that stop it)."""
    started: list[ContractServer] = []

    def start() -> ContractServer:
        server = STARTERS[server_kind](tmp_path / f"private-{len(started)}", client_keys)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def backend_for(
    server: ContractServer,
    keys: ClientKeys,
    *,
    alg: str = "RS384",
    session: requests.Session | None = None,
) -> BackendServicesClient:
    return BackendServicesClient(
        server.fhir_base,
        server.client_ids[alg],
        keys,
        SCOPE,
        alg=alg,
        session=session if session is not None else make_session(),
    )


@pytest.fixture
def backend(contract_server: ContractServer, client_keys: ClientKeys) -> BackendServicesClient:
    return backend_for(contract_server, client_keys)


@pytest.fixture
def fhir(contract_server: ContractServer, backend: BackendServicesClient) -> FhirClient:
    return FhirClient(contract_server.fhir_base, backend)


def new_patient(value: str, family: str = "Doe") -> Patient:
    """A valid Patient whose identifier ``SYSTEM|value`` no other test uses."""
    return Patient(
        identifier=[Identifier(system=SYSTEM, value=value)],
        name=[HumanName(family=family, given=["Jo"])],
    )


@pytest.fixture
def unique() -> str:
    """A value no other test uses, for identifiers."""
    return uuid.uuid4().hex
