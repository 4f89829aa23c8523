# SPDX-License-Identifier: Apache-2.0
"""Benchmark: render time of every clinician page in the screening and notes flow.

Runs Quietline (``quietline serve``) and the sandbox EHR as separate processes, launches as the
therapist, starts a review, then requests each page ``--rounds`` times.  Reported per page: the
server's own time from ``Server-Timing: app`` (time waiting on the EHR, e.g. the contacts read on
the safety-plan page, is reported apart) and the wall time seen by the client.  Budget: p95 of any
clinician page <= 50 ms.

    .venv/bin/python bench/pages.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DemoPair
from bench.common import free_port
from bench.common import server_timing
from bench.common import summary
from plugin.content import CONTENT_VERSION
from plugin.content import SLII
from smart_launch.sandbox.walker import Walker
from smart_launch.sandbox.walker import ehr_launch_url

BUDGET_MS = 50.0


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pair = DemoPair(Path(tmp), free_port(), free_port()).start()
        try:
            walker = Walker()
            home = walker.get(ehr_launch_url(walker, pair.ehr, "pat-1", "therapist"))
            base = home.url.rstrip("/")
            index = walker.get(f"{base}/review/")
            screening = walker.post(f"{base}/review/start", {"csrf": _csrf(index.text)})
            review = screening.url.rsplit("/", 1)[0]
            item = SLII[0].items[0].link_id
            walker.post(
                screening.url,
                {
                    "csrf": _csrf(screening.text),
                    "content_version": CONTENT_VERSION,
                    item: "yes",
                    "action": "save",
                },
            )
            notes = walker.get(f"{base}/notes/")
            pages = {
                "home": ("GET", f"{base}/", None),
                "review index": ("GET", f"{base}/review/", None),
                "screening": ("GET", f"{review}/screening", None),
                "risk review": ("GET", f"{review}/risk", None),
                "safety plan": ("GET", f"{review}/plan", None),
                "education and print": ("GET", f"{review}/wrap-up", None),
                "discreet handout": ("GET", f"{review}/handout/discreet", None),
                "notes": ("GET", f"{base}/notes/", None),
                "note editor": (
                    "POST",
                    f"{base}/notes/draft",
                    {"csrf": _csrf(notes.text), "screening_completed": "yes"},
                ),
            }
            results: dict[str, object] = {}
            worst = 0.0
            for name, (method, url, data) in pages.items():
                own, ehr, wall = [], [], []
                for _ in range(args.rounds):
                    response = walker.go(method, url, data, follow=False)
                    assert response.status_code == 200, (name, response.status_code)
                    app_ms, ehr_ms = server_timing(response)
                    own.append(app_ms)
                    ehr.append(ehr_ms)
                    wall.append(response.elapsed.total_seconds() * 1000)
                figures = {"own_ms": summary(own), "ehr_ms": summary(ehr), "wall_ms": summary(wall)}
                worst = max(worst, figures["own_ms"]["p95"])
                results[name] = {
                    k: {m: round(v, 2) for m, v in f.items()} for k, f in figures.items()
                }
        finally:
            pair.stop()
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "budget_p95_ms": BUDGET_MS,
                "worst_own_p95_ms": round(worst, 2),
                "pages": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
