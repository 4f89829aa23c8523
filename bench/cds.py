# SPDX-License-Identifier: Apache-2.0
"""Benchmark: the CDS Hooks ``appointment-book`` call at 32 concurrent requests (budget
p99 <= 20 ms).

Quietline runs as its own process on a fresh SQLite database (or ``--database-url``): by
default gunicorn, 2 ``gthread`` workers with keep-alive, as production runs it (``--server
sync`` for gunicorn's sync workers, ``--server embedded`` for ``quietline serve``).  One tenant
allow-lists the bench's own EHR key set (``jku`` served by this process, fetched once per
worker).  JWTs (ES384 and RS384, the EHR's choice; ``--algs``) with unique ``jti`` values are
signed before the clock starts.  The load generator is ``wrk`` when installed (a C client whose
Lua script rotates through the pre-signed requests, each sent once), else a Python asyncio
client; the output names the one used.  32 connections send requests back to back (closed
loop), once for a client with an enrolled code word (one card) and once for a client without
(no cards).  Latency is measured by the client, from writing the request to reading the whole
answer; the ``Server-Timing`` ``app`` figure is Quietline's own time inside Flask.  A sweep
over concurrency shows where the budget holds on the machine at hand.  Results go to
``bench/results/cds.json`` and stdout.

    .venv/bin/python bench/cds.py [--requests 3000] [--concurrency 32] [--client wrk]
        [--server gthread] [--workers 2] [--algs ES384 RS384] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey

from bench.common import BIN
from bench.common import ROOT
from bench.common import free_port
from bench.common import peak_rss_mb
from bench.common import summary
from plugin.app import create_app
from plugin.codeword.interfaces import PatientFacts
from plugin.codeword.services import CodewordService
from plugin.config import Settings
from plugin.demo import wait_for
from plugin.registry import get_service
from plugin.server import ServerThread
from plugin.store import Database
from plugin.tenants.interfaces import TenantRepository
from plugin.tenants.services import TenantRegistration

EHR = "http://127.0.0.1:8700"
PATH = "/cds-services/quietline-appointment-book"
PROTECTED, UNPROTECTED = "pat-1", "pat-2"
RESULTS = ROOT / "bench" / "results" / "cds.json"

BUDGET_MS = 20
LATENCY_KEYS = ("p50", "p95", "p99", "mean", "max")
_Key = ECKey | RSAKey
_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_Answer = tuple[float, float, int, bytes]


class KeySetServer:
    """The EHR's ``jku``: serves one public JWK Set and counts fetches."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.body = json.dumps(document).encode()
        self.fetches = 0
        self.server = ServerThread("127.0.0.1", 0, self).start()
        self.url = f"http://127.0.0.1:{self.server.port}/cds/jwks.json"

    def __call__(self, _environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.fetches += 1
        start_response("200 OK", [("Content-Type", "application/json")])
        return [self.body]


def environment(workdir: Path, app_url: str, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PLUGIN_ENV="development",
        PLUGIN_INSTANCE_PATH=str(workdir / "instance"),
        PLUGIN_PUBLIC_URL=app_url,
        PLUGIN_LOG_LEVEL="WARNING",
        PLUGIN_OUTBOX_WORKER="off",
    )
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def prepare(env: dict[str, str], jku: str) -> None:
    """Migrate, register the tenant with the bench's key set, enroll the protected client."""
    app = create_app(Settings.from_env(env))
    get_service(TenantRepository, app).register(
        TenantRegistration(
            id="bench",
            name="Bench EHR",
            iss=f"{EHR}/fhir",
            client_id="quietline",
            auth_method="private_key_jwt",
            scope="launch openid fhirUser patient/Patient.rs",
            frame_origins=(EHR,),
            options={"cds": {"clients": [{"iss": EHR, "jku": jku}]}},
        )
    )
    get_service(CodewordService, app).enroll(
        tenant="bench",
        patient_id=PROTECTED,
        word="quiet harbour lantern",
        confirm="quiet harbour lantern",
        facts=PatientFacts(names=("Avery", "Lindqvist"), birth_date="1988-04-12"),
        actor="Practitioner/prac-1",
        client_present=True,
    )
    get_service(Database, app).dispose()


def start_server(
    port: int, env: dict[str, str], server: str, workers: int, threads: int
) -> subprocess.Popen[bytes]:
    """gunicorn (``gthread`` or ``sync`` workers) or ``quietline serve`` (the embedded threaded
    server: one process, one connection per request)."""
    log = open(os.environ.get("CDS_BENCH_LOG", os.devnull), "wb")  # noqa: SIM115, PTH123
    if server == "embedded":
        command = [str(BIN / "quietline"), "serve", "--port", str(port)]
    else:
        command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
                   str(workers), "--worker-class", server, "--threads", str(threads),
                   "--keep-alive", "30", "plugin.app:create_app()"]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)


def server_label(server: str, workers: int, threads: int) -> str:
    if server == "embedded":
        return "quietline serve (embedded werkzeug, threaded, Connection: close)"
    if server == "sync":
        return f"gunicorn, {workers} sync workers (no keep-alive)"
    return f"gunicorn, {workers} gthread workers x {threads} threads, keep-alive"


def hook_body(patient_id: str) -> bytes:
    appointment = {
        "resourceType": "Appointment",
        "id": f"appt-{uuid.uuid4().hex[:8]}",
        "status": "proposed",
        "start": "2026-12-01T10:00:00Z",
        "end": "2026-12-01T10:50:00Z",
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "needs-action"},
            {"actor": {"reference": "Practitioner/prac-1"}, "status": "accepted"},
        ],
    }
    patient = {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"family": "Lindqvist", "given": ["Avery"]}],
        "birthDate": "1988-04-12",
    }
    return json.dumps(
        {
            "hook": "appointment-book",
            "hookInstance": str(uuid.uuid4()),
            "context": {
                "userId": "Practitioner/frontdesk",
                "patientId": patient_id,
                "appointments": {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": appointment}],
                },
            },
            "prefetch": {"patient": patient},
        }
    ).encode()


def signed(
    key: _Key, alg: str, jku: str, app_url: str, patient_id: str, *, count: int
) -> list[tuple[str, bytes]]:
    """``(JWT, body)`` pairs, each JWT freshly signed with its own ``jti``."""
    header = {"alg": alg, "typ": "JWT", "kid": key.kid, "jku": jku}
    out = []
    for _ in range(count):
        now = int(time.time())
        claims = {"iss": EHR, "aud": app_url + PATH, "iat": now, "exp": now + 600,
                  "jti": str(uuid.uuid4())}  # fmt: skip
        out.append((jwt.encode(header, claims, key, algorithms=[alg]), hook_body(patient_id)))
    return out


def http_requests(app_url: str, pairs: list[tuple[str, bytes]]) -> list[bytes]:
    """Complete HTTP/1.1 requests for the Python client."""
    host = app_url.split("//", 1)[1]
    out = []
    for token, body in pairs:
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


async def _one(port: int, conn: _Conn | None, request: bytes) -> tuple[_Answer, _Conn | None]:
    """Send ``request`` on ``conn`` (or a new connection); keep it if the server allows."""
    started = time.perf_counter()
    if conn is None:
        conn = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = conn
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    body = await reader.readexactly(int(headers["content-length"]))
    elapsed = (time.perf_counter() - started) * 1000
    app = 0.0
    for part in headers.get("server-timing", "").split(","):
        name, _, rest = part.strip().partition(";")
        if name == "app" and rest.startswith("dur="):
            app = float(rest[4:].split(";")[0])
    if headers.get("connection", "").lower() == "close" or lines[0].startswith("HTTP/1.0"):
        writer.close()
        conn = None
    return (elapsed, app, status, body), conn


async def closed_loop(port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    """``concurrency`` connections, each sending its share back to back."""
    latencies: list[float] = []
    server_ms: list[float] = []
    cards: list[int] = []
    failures: list[int] = []

    async def worker(share: list[bytes]) -> None:
        conn: _Conn | None = None
        for request in share:
            (elapsed, app, status, body), conn = await _one(port, conn, request)
            if status != 200:
                failures.append(status)
                continue
            latencies.append(elapsed)
            server_ms.append(app)
            cards.append(len(json.loads(body)["cards"]))
        if conn is not None:
            conn[1].close()

    shares = [requests[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares))
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed: {sorted(set(failures))}")
    return {
        "requests": len(latencies),
        "cards_per_answer": sorted(set(cards)),
        "client_latency_ms": {k: round(v, 2) for k, v in summary(latencies).items()},
        "server_time_ms": {k: round(v, 2) for k, v in summary(server_ms).items()},
        "throughput_per_s": round(len(latencies) / seconds, 1),
    }


WRK_SCRIPT = r"""
local counter, threads = 0, {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local data, idx, got, share, marker = {}, 0, 0, 0, nil
bad, cards, st = 0, 0, {}
function init(args)
  share = tonumber(args[2])
  marker = args[1] .. ".done." .. tid
  local headers = {["Content-Type"] = "application/json"}
  for line in io.lines(args[1] .. "." .. tid) do
    local tab = line:find("	", 1, true)
    headers["Authorization"] = "Bearer " .. line:sub(1, tab - 1)
    data[#data + 1] = wrk.format("POST", nil, headers, line:sub(tab + 1))
  end
end
function request()
  idx = idx + 1
  return data[idx] or data[#data]
end
function response(status, headers, body)
  got = got + 1
  if status ~= 200 then bad = bad + 1 end
  local timing = headers["Server-Timing"] or headers["server-timing"] or ""
  local app = timing:match("app;dur=([%d%.]+)")
  if app then st[#st + 1] = app end
  if body:find('"uuid"', 1, true) then cards = cards + 1 end
  if got == share then
    wrk.thread:stop()
    io.open(marker, "w"):close()
  end
end
function done(summary, latency, requests)
  local b, c, all = 0, 0, {}
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    c = c + t:get("cards")
    for _, v in ipairs(t:get("st")) do all[#all + 1] = v end
  end
  local p = {}
  for _, q in ipairs({50, 95, 99}) do p[#p + 1] = latency:percentile(q) / 1000 end
  io.write(string.format(
    "RESULT {\"requests\":%d,\"duration_us\":%d,\"bad\":%d,\"cards\":%d," ..
    "\"p50\":%f,\"p95\":%f,\"p99\":%f,\"mean\":%f,\"max\":%f," ..
    "\"socket_errors\":%d,\"server\":[%s]}\n",
    summary.requests, summary.duration, b, c, p[1], p[2], p[3], latency.mean / 1000,
    latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, table.concat(all, ",")))
end
"""


def wrk_loop(
    workdir: Path, app_url: str, pairs: list[tuple[str, bytes]], concurrency: int
) -> dict[str, Any]:
    """``wrk`` with ``concurrency`` connections; each thread sends its share of ``pairs``
    once (a spare request per connection covers those in flight when the share is done)."""
    threads = min(2, concurrency)
    per_thread = concurrency // threads
    share = (len(pairs) - per_thread * threads) // threads
    script = workdir / "cds.lua"
    script.write_text(WRK_SCRIPT)
    spare = iter(pairs[share * threads :])
    for tid in range(threads):
        mine = pairs[tid * share : (tid + 1) * share]
        mine += [next(spare) for _ in range(per_thread)]
        lines = (f"{token}\t{body.decode()}" for token, body in mine)
        (workdir / f"cds.requests.{tid}").write_text("\n".join(lines) + "\n")
    command = ["wrk", "-t", str(threads), "-c", str(per_thread * threads), "-d", "300s",
               "--timeout", "10s", "-s", str(script), app_url + PATH, "--",
               str(workdir / "cds.requests"), str(share)]  # fmt: skip
    # wrk runs for its duration; stop it (SIGINT prints the summary) once every thread has
    # sent its share, which each thread marks with a file.
    markers = [workdir / f"cds.requests.done.{tid}" for tid in range(threads)]
    for marker in markers:
        marker.unlink(missing_ok=True)
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        while not all(marker.exists() for marker in markers) and process.poll() is None:
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        out = process.communicate(timeout=30)[0]
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    if raw["bad"] or raw["socket_errors"]:
        raise SystemExit(f"wrk: {raw['bad']} non-200 answers, {raw['socket_errors']} errors")
    server_ms = [float(v) for v in raw["server"]]
    count = int(raw["requests"])
    return {
        "requests": count,
        "cards_per_answer": [n for n, seen in ((0, raw["cards"] < count), (1, raw["cards"])) if seen],  # noqa: E501
        "client_latency_ms": {k: round(float(raw[k]), 2) for k in LATENCY_KEYS},
        "server_time_ms": {k: round(v, 2) for k, v in summary(server_ms).items()},
        # Closed loop (Little's law): ``concurrency`` requests always in flight.
        "throughput_per_s": round(concurrency / (float(raw["mean"]) / 1000), 1),
    }  # fmt: skip


def load(
    client: str, workdir: Path, app_url: str, pairs: list[tuple[str, bytes]], concurrency: int
) -> dict[str, Any]:
    if client == "wrk":
        return wrk_loop(workdir, app_url, pairs, concurrency)
    port = int(app_url.rsplit(":", 1)[1])
    return asyncio.run(closed_loop(port, http_requests(app_url, pairs), concurrency))


def ehr_key(alg: str) -> _Key:
    if alg.startswith("ES"):
        curve = {"ES256": "P-256", "ES384": "P-384"}[alg]
        return ECKey.generate_key(curve, parameters={"kid": f"bench-{alg}"}, private=True)
    return RSAKey.generate_key(2048, parameters={"kid": f"bench-{alg}"}, private=True)


def within_budget(sweep: dict[str, dict[str, float]]) -> int | None:
    """The highest concurrency of the sweep at which p99 <= the budget."""
    levels = [int(level) for level, run in sweep.items() if run["p99"] <= BUDGET_MS]
    return max(levels) if levels else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url")
    parser.add_argument("--client", choices=["wrk", "python"], default=None)
    parser.add_argument("--server", choices=["gthread", "sync", "embedded"], default="gthread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--algs", nargs="+", default=["ES384", "RS384"])
    parser.add_argument("--sweep", type=int, nargs="*", default=[1, 2, 4, 8, 16, 24, 32])
    parser.add_argument("--sweep-requests", type=int, default=1000)
    args = parser.parse_args()
    client = args.client or ("wrk" if shutil.which("wrk") else "python")
    load_before = os.getloadavg()[0]
    keys = {alg: ehr_key(alg) for alg in args.algs}
    jwks = KeySetServer({"keys": [key.as_dict(private=False) for key in keys.values()]})
    port = free_port()
    app_url = f"http://localhost:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(Path(tmp), app_url, args.database_url)
        prepare(env, jwks.url)
        server = start_server(port, env, args.server, args.workers, args.threads)
        try:
            wait_for(f"{app_url}/healthz")
            by_alg: dict[str, dict[str, Any]] = {}
            for alg, key in keys.items():
                by_alg[alg] = {}
                for name, patient in (("protected", PROTECTED), ("unprotected", UNPROTECTED)):
                    warm = signed(
                        key, alg, jwks.url, app_url, patient, count=args.warmup + args.concurrency
                    )
                    timed = signed(
                        key, alg, jwks.url, app_url, patient, count=args.requests + args.concurrency
                    )
                    load(client, Path(tmp), app_url, warm, args.concurrency)
                    by_alg[alg][name] = load(client, Path(tmp), app_url, timed, args.concurrency)
            # Where the budget holds on this machine: the protected call, first algorithm.
            alg, key = next(iter(keys.items()))
            sweep = {}
            for level in args.sweep:
                timed = signed(
                    key, alg, jwks.url, app_url, PROTECTED, count=args.sweep_requests + level
                )
                run = load(client, Path(tmp), app_url, timed, level)
                sweep[str(level)] = {
                    "p50": run["client_latency_ms"]["p50"],
                    "p95": run["client_latency_ms"]["p95"],
                    "p99": run["client_latency_ms"]["p99"],
                    "server_p50": run["server_time_ms"]["p50"],
                    "throughput_per_s": run["throughput_per_s"],
                }
            result = {
                "concurrency": args.concurrency,
                "server": server_label(args.server, args.workers, args.threads),
                "client": (
                    "wrk (C, 2 threads, keep-alive, Lua rotates pre-signed requests)"
                    if client == "wrk"
                    else "python asyncio raw sockets (keep-alive when the server allows)"
                ),
                "database": "postgresql" if args.database_url else "sqlite",
                "budget_p99_ms": BUDGET_MS,
                "budget_met_at_concurrency": {
                    f"{alg}/{name}": run["client_latency_ms"]["p99"] <= BUDGET_MS
                    for alg, runs in by_alg.items()
                    for name, run in runs.items()
                },
                "jwks_fetches": jwks.fetches,
                "scenarios": by_alg[alg],
                "scenarios_by_alg": by_alg,
                "sweep_alg": alg,
                "protected_by_concurrency": sweep,
                "max_concurrency_within_budget": within_budget(sweep),
                "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1),
                "cpus": os.cpu_count(),
                "load_average_before": load_before,
            }
        finally:
            server.terminate()
            server.wait(timeout=10)
            jwks.server.stop()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
