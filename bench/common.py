# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for benchmarks: run the demo pair as separate processes, walk a launch like a
browser, read figures.  Benchmarks import nothing from ``tests/``; the browser-like walker is
:mod:`smart_launch.sandbox.walker`."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from plugin.demo import DEMO_ROLE_MAPPING
from plugin.demo import wait_for

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


def server_timing(response: requests.Response) -> tuple[float, float]:
    """(app ms, ehr ms) from ``Server-Timing``."""
    app = ehr = 0.0
    for part in response.headers.get("Server-Timing", "").split(","):
        name, _, rest = part.strip().partition(";")
        for item in rest.split(";"):
            key, _, value = item.partition("=")
            if key == "dur":
                if name == "app":
                    app = float(value)
                elif name == "ehr":
                    ehr = float(value)
    return app, ehr


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class DemoPair:
    """Quietline (``quietline serve``) and the sandbox, each in its own process."""

    workdir: Path
    ehr_port: int
    app_port: int
    quietline: subprocess.Popen[bytes] | None = None
    sandbox: subprocess.Popen[bytes] | None = None

    @property
    def ehr(self) -> str:
        return f"http://127.0.0.1:{self.ehr_port}"

    @property
    def app(self) -> str:
        return f"http://localhost:{self.app_port}"

    def start(self) -> DemoPair:
        env = dict(os.environ)
        env.update(
            PLUGIN_ENV="development",
            PLUGIN_INSTANCE_PATH=str(self.workdir / "instance"),
            PLUGIN_PUBLIC_URL=self.app,
            PLUGIN_LOG_LEVEL="WARNING",
        )
        env.pop("DATABASE_URL", None)
        mapping = self.workdir / "roles.json"
        mapping.write_text(json.dumps(DEMO_ROLE_MAPPING))
        subprocess.run(
            [
                str(BIN / "quietline"),
                "tenant",
                "add",
                "--id",
                "sandbox",
                "--name",
                "Sandbox",
                "--iss",
                f"{self.ehr}/fhir",
                "--client-id",
                "quietline",
                "--frame-origin",
                self.ehr,
                "--role-mapping",
                str(mapping),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        self.quietline = subprocess.Popen(
            [str(BIN / "quietline"), "serve", "--port", str(self.app_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"{self.app}/healthz")
        clients = self.workdir / "clients.json"
        clients.write_text(
            json.dumps(
                [
                    {
                        "client_id": "quietline",
                        "auth_method": "private_key_jwt",
                        "jwks_uri": f"{self.app}/.well-known/jwks.json",
                        "redirect_uris": [f"{self.app}/callback"],
                        "launch_url": f"{self.app}/launch",
                        "scope": _scope(),
                    }
                ]
            )
        )
        self.sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smart_launch.sandbox",
                "--port",
                str(self.ehr_port),
                "--db",
                str(self.workdir / "sandbox.db"),
                "--clients",
                str(clients),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"{self.ehr}/fhir/metadata")
        return self

    def stop(self) -> None:
        for process in (self.sandbox, self.quietline):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)


def _scope() -> str:
    from plugin.launch.scopes import DEFAULT_SCOPE  # noqa: PLC0415

    return DEFAULT_SCOPE
