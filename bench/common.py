# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for benchmarks: run the demo pair as separate processes, walk a launch like a
browser, read figures.  Benchmarks import nothing from ``tests/``."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import statistics
import subprocess
import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urljoin
from urllib.parse import urlsplit

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


_IFRAME = re.compile(r'<iframe[^>]*\bid="app-frame"[^>]*>', re.DOTALL)
_SRC = re.compile(r'\bsrc="([^"]+)"')


@dataclass
class Walker:
    """Follows redirects the way a browser does, keeping each site's cookies apart."""

    http: requests.Session = field(default_factory=requests.Session)
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http.trust_env = False

    def _send(self, method: str, url: str, data: dict[str, str] | None) -> requests.Response:
        host = urlsplit(url).netloc
        jar = self.cookies.get(host, {})
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        response = self.http.request(
            method, url, data=data, headers=headers, allow_redirects=False, timeout=15
        )
        for header in response.raw.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            self.cookies.setdefault(host, {})[name.strip()] = rest.split(";", 1)[0]
        return response

    def go(
        self, method: str, url: str, data: dict[str, str] | None = None, *, follow: bool = True
    ) -> requests.Response:
        response = self._send(method, url, data)
        hops = 0
        while follow and response.is_redirect and hops < 10:
            url = urljoin(url, response.headers["Location"])
            response = self._send("GET", url, None)
            hops += 1
        return response

    def get(self, url: str, *, follow: bool = True) -> requests.Response:
        return self.go("GET", url, follow=follow)

    def post(self, url: str, data: dict[str, str], *, follow: bool = True) -> requests.Response:
        return self.go("POST", url, data, follow=follow)


def ehr_launch_url(walker: Walker, ehr_root: str, patient: str, user: str) -> str:
    """Open the sandbox chart page and return the app's launch URL from its iframe."""
    chart = walker.get(f"{ehr_root}/ehr/launch?patient={patient}&user={user}")
    tag = _IFRAME.search(chart.text) if chart.status_code == 200 else None
    src = _SRC.search(tag.group(0)) if tag else None
    if src is None:
        msg = f"the chart page has no app iframe (HTTP {chart.status_code})"
        raise RuntimeError(msg)
    return html.unescape(src.group(1))
