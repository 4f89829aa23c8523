# SPDX-License-Identifier: Apache-2.0
"""Headless Chromium with third-party cookies blocked, for the browser tests.

One persistent Chromium profile per test module (starting Chromium is the slow part); every test
gets a fresh page and an empty cookie jar.  The profile's ``Preferences`` file is written before
launch so Chromium blocks third-party cookies exactly as a user's "Block third-party cookies"
setting does; ``test_iframe_launch.py`` proves the block is in force.

A missing Chromium or Playwright is a failure, never a skip: these tests are the only proof that
the session works inside the EHR's cross-site iframe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import Traffic

CHROMIUM = Path(os.environ.get("QUIETLINE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
BLOCK_THIRD_PARTY_COOKIES = {
    "profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}
}
VIEWPORT = {"width": 1024, "height": 768}
TIMEOUT_MS = 15_000


def write_preferences(user_data_dir: Path) -> Path:
    """Write the profile preferences that block third-party cookies; return the file."""
    preferences = user_data_dir / "Default" / "Preferences"
    preferences.parent.mkdir(parents=True, exist_ok=True)
    preferences.write_text(json.dumps(BLOCK_THIRD_PARTY_COOKIES), encoding="utf-8")
    return preferences


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError as exc:
        pytest.fail(
            f"Playwright is not installed ({exc}); install the test dependencies "
            "(pip install -e . --group test). Browser tests never skip.",
            pytrace=False,
        )
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
            "QUIETLINE_CHROMIUM). Browser tests never skip.",
            pytrace=False,
        )
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser_context(playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A persistent Chromium context whose profile blocks third-party cookies."""
    user_data_dir = tmp_path_factory.mktemp("chromium-profile")
    write_preferences(user_data_dir)
    try:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
    except Exception as exc:  # noqa: BLE001 - any launch failure must name the cause
        pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def context(browser_context: Any) -> Iterator[Any]:
    """The module's context with no cookies and no open pages left by earlier tests."""
    for page in list(browser_context.pages):
        page.close()
    browser_context.clear_cookies()
    yield browser_context
    for page in list(browser_context.pages):
        page.close()
    browser_context.clear_cookies()


@pytest.fixture
def traffic(context: Any) -> Iterator[Traffic]:
    recorded = Traffic()
    context.on("request", recorded.record)
    yield recorded
    context.remove_listener("request", recorded.record)


@pytest.fixture
def console(context: Any) -> Iterator[list[str]]:
    """Console messages of every page and frame (CSP violations are reported there)."""
    messages: list[str] = []

    def record(message: Any) -> None:
        messages.append(f"{message.type}: {message.text}")

    context.on("console", record)
    yield messages
    context.remove_listener("console", record)


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()
