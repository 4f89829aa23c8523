# SPDX-License-Identifier: Apache-2.0
"""``quietline demo``: the sandbox EHR and Quietline side by side, on two different sites.

The sandbox runs as its own process (``python -m smart_launch.sandbox``); Quietline's code
talks to it only over HTTP, exactly as it would to a production EHR.  The sandbox's scheduling
page calls Quietline's CDS service (``--cds``), and the tenant allows the sandbox as a CDS
client.  Writes queued during a launch go out with the clinician's token; later ones with the
separately registered backend client ``quietline-backend``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from .app import create_app
from .app import start_worker
from .config import Settings
from .launch.scopes import DEFAULT_SCOPE
from .registry import get_service
from .server import ServerThread
from .tenants.interfaces import TenantRepository
from .tenants.services import BackendClient
from .tenants.services import TenantRegistration

__all__ = [
    "DEMO_BACKEND_CLIENT",
    "DEMO_ROLE_MAPPING",
    "SOURCE_CHECKOUT_NEEDED",
    "cds_client_options",
    "run_demo",
    "sandbox_available",
    "sandbox_clients",
    "wait_for",
]

DEMO_BACKEND_CLIENT = "quietline-backend"

SOURCE_CHECKOUT_NEEDED = (
    "The demo needs a source checkout of Quietline: the sandbox EHR it runs "
    "(smart_launch.sandbox) is not part of the installed package. Clone the repository and "
    "run `make demo` there."
)


def sandbox_available() -> bool:
    """Whether the sandbox EHR can be imported (a source checkout, not an installed wheel)."""
    try:
        return importlib.util.find_spec("smart_launch.sandbox") is not None
    except ModuleNotFoundError:
        return False


DEMO_ROLE_MAPPING = {
    "codes": {
        "urn:quietline-sandbox:staff-role|therapist": ["clinician"],
        "urn:quietline-sandbox:staff-role|front-desk": ["front_desk"],
        "urn:quietline-sandbox:staff-role|practice-admin": ["admin"],
    }
}


def sandbox_clients(settings: Settings) -> list[dict[str, object]]:
    """The sandbox's registrations of Quietline (private_key_jwt via Quietline's JWKS URL): the
    launch client first, then the separate backend client (``system/`` scopes only)."""
    return [
        {
            "client_id": "quietline",
            "auth_method": "private_key_jwt",
            "jwks_uri": settings.jwks_url,
            "redirect_uris": [settings.redirect_uri],
            "launch_url": settings.launch_url,
            "scope": (
                f"{DEFAULT_SCOPE} launch/patient {settings.outbox_scope} {settings.reconcile_scope}"
            ),
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        },
        {
            "client_id": DEMO_BACKEND_CLIENT,
            "auth_method": "private_key_jwt",
            "jwks_uri": settings.jwks_url,
            "scope": f"{settings.outbox_scope} {settings.reconcile_scope}",
            "grant_types": ["client_credentials"],
        },
    ]


def cds_client_options(ehr_root: str) -> dict[str, object]:
    """Tenant options allowing the sandbox EHR as a CDS client (its JWT ``iss`` and ``jku``)."""
    root = ehr_root.rstrip("/")
    return {"cds": {"clients": [{"iss": root, "jku": f"{root}/cds/jwks.json"}]}}


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def wait_for(url: str, seconds: float = 30.0, *, alive: Callable[[], bool] | None = None) -> None:
    """Poll ``url`` until it answers 200; ``alive`` says whether the server is still running.

    :raises RuntimeError: when time runs out or the server process has gone.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            msg = f"the server behind {url} exited"
            raise RuntimeError(msg)
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    msg = f"{url} did not come up"
    raise RuntimeError(msg)


def run_demo(data_dir: Path, *, ehr_port: int, app_port: int) -> None:
    """Start both, print the EHR's URL and serve until interrupted."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        PLUGIN_ENV="development",
        PLUGIN_INSTANCE_PATH=str(data_dir),
        PLUGIN_PUBLIC_URL=f"http://localhost:{app_port}",
    )
    env.pop("DATABASE_URL", None)
    settings = Settings.from_env(env)
    app = create_app(settings)
    ehr_root = f"http://127.0.0.1:{ehr_port}"
    clients = data_dir / "sandbox-clients.json"
    clients.write_text(json.dumps(sandbox_clients(settings), indent=2), encoding="utf-8")
    get_service(TenantRepository, app).register(
        TenantRegistration(
            id="sandbox",
            name="Sandbox EHR",
            iss=f"{ehr_root}/fhir",
            client_id="quietline",
            auth_method="private_key_jwt",
            scope=DEFAULT_SCOPE,
            frame_origins=(ehr_root,),
            role_mapping=DEMO_ROLE_MAPPING,
            options=cds_client_options(ehr_root),
            backend=BackendClient(
                client_id=DEMO_BACKEND_CLIENT,
                auth_method="private_key_jwt",
                scope=f"{settings.outbox_scope} {settings.reconcile_scope}",
            ),
            backend_on_launch_client=False,
        )
    )
    # SIGTERM (from a supervisor or `kill`) stops both, like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    server = ServerThread("127.0.0.1", app_port, app).start()
    stop = start_worker(app)
    sandbox = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "smart_launch.sandbox",
            *("--host", "127.0.0.1", "--port", str(ehr_port)),
            *("--db", str(data_dir / "sandbox.db"), "--clients", str(clients)),
            *("--cds", f"http://localhost:{app_port}/cds-services"),
        ]
    )
    try:
        wait_for(f"{ehr_root}/fhir/metadata", alive=lambda: sandbox.poll() is None)
        wait_for(f"http://localhost:{app_port}/healthz")
        print(f"Sandbox EHR: {ehr_root}/", flush=True)  # noqa: T201
        print(f"Quietline:   http://localhost:{app_port}/", flush=True)  # noqa: T201
        sandbox.wait()
    except KeyboardInterrupt:
        print("Stopping the demo.", flush=True)  # noqa: T201
    finally:
        stop.set()
        sandbox.terminate()
        sandbox.wait(timeout=10)
        server.stop()
