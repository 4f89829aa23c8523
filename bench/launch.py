# SPDX-License-Identifier: Apache-2.0
"""Benchmark: 200 EHR launches against the sandbox, Quietline's own server time apart.

Each launch is the chart page's iframe URL -> authorize (sandbox) -> callback -> home page, the
way a browser follows it.  Quietline's own time per launch is the sum of the ``app`` durations
in its ``Server-Timing`` headers for /launch, /callback and the home page; the ``ehr`` duration
(time Quietline spent waiting on the sandbox) is reported apart.  Peak memory is the Quietline
process's VmHWM after the run.

    .venv/bin/python bench/launch.py [--launches 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import urljoin
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DemoPair
from bench.common import free_port
from bench.common import peak_rss_mb
from bench.common import server_timing
from bench.common import summary
from smart_launch.sandbox.walker import Walker
from smart_launch.sandbox.walker import ehr_launch_url

PER_PATH: dict[str, list[float]] = {}
PATIENTS = ("pat-1", "pat-2", "pat-3", "pat-4", "pat-5", "pat-6")


def one_launch(pair: DemoPair, patient: str) -> tuple[float, float, float]:
    walker = Walker()
    url = ehr_launch_url(walker, pair.ehr, patient, "therapist")
    app_ms = ehr_ms = total_ms = 0.0
    response = walker.get(url, follow=False)
    hops = 0
    while True:
        if urlsplit(response.url).netloc == urlsplit(pair.app).netloc:
            app, ehr = server_timing(response)
            PER_PATH.setdefault(urlsplit(response.url).path.split("/")[1], []).append(app)
            app_ms += app
            ehr_ms += ehr
            total_ms += response.elapsed.total_seconds() * 1000
        if not response.is_redirect or hops > 8:
            break
        response = walker.get(urljoin(response.url, response.headers["Location"]), follow=False)
        hops += 1
    if response.status_code != 200 or 'id="patient-name"' not in response.text:
        msg = f"launch failed: {response.status_code}"
        raise RuntimeError(msg)
    return app_ms, ehr_ms, total_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pair = DemoPair(Path(tmp), free_port(), free_port()).start()
        try:
            for i in range(args.warmup):
                one_launch(pair, PATIENTS[i % len(PATIENTS)])
            own, ehr, total = [], [], []
            for i in range(args.launches):
                a, e, t = one_launch(pair, PATIENTS[i % len(PATIENTS)])
                own.append(a)
                ehr.append(e)
                total.append(t)
            assert pair.quietline is not None
            result = {
                "launches": args.launches,
                "quietline_own_ms": summary(own),
                "waiting_on_ehr_ms": summary(ehr),
                "quietline_wall_ms": summary(total),
                "quietline_peak_rss_mb": peak_rss_mb(pair.quietline.pid),
                "own_ms_by_step": {k: summary(v) for k, v in PER_PATH.items()},
            }
        finally:
            pair.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
