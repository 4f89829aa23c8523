# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the browser tests (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

__all__ = [
    "SCREENSHOTS",
    "Traffic",
    "csp_violations",
    "launch_handle",
    "quietline_cookie",
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"

_HANDLE = re.compile(r"/l/([^/?#]+)/")


@dataclass
class Traffic:
    """Every request the browser made (all pages, all frames), with any request body."""

    urls: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)

    def record(self, request: Any) -> None:
        self.urls.append(request.url)
        body = request.post_data
        if body:
            self.bodies.append(body)


def launch_handle(url: str) -> str:
    """The per-launch handle in a launched Quietline page's URL (``/l/<handle>/``)."""
    match = _HANDLE.search(url)
    assert match is not None, f"not a launched Quietline page: {url}"
    return match.group(1)


def quietline_cookie(cookies: list[dict[str, Any]]) -> dict[str, Any]:
    """The one ``__Host-quietline`` cookie in the browser's store."""
    found = [cookie for cookie in cookies if cookie["name"] == "__Host-quietline"]
    assert len(found) == 1, f"expected one Quietline cookie, found {found!r}"
    return found[0]


def csp_violations(console: list[str]) -> list[str]:
    """Console messages in which Chromium reports a Content-Security-Policy violation."""
    return [message for message in console if "Content Security Policy" in message]
