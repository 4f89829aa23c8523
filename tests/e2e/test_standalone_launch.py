# SPDX-License-Identifier: Apache-2.0
"""The standalone launch in a real browser: Quietline top-level, sign-in at the sandbox EHR."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from plugin.crypto import lookup_hash
from plugin.launch.store import SqlLaunchStore
from plugin.registry import get_service
from smart_launch.sandbox.seed import USERS
from smart_launch.sandbox.server import RunningSandbox
from tests.e2e.browser import csp_violations
from tests.e2e.browser import launch_handle
from tests.e2e.browser import quietline_cookie
from tests.support.servers import Quietline

pytestmark = pytest.mark.browser


def test_standalone_launch_with_sandbox_login_and_patient_picker(
    context: Any, page: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    page.goto(f"{quietline.url}/standalone/sandbox")
    expect(page.get_by_role("heading", name="Sign in through your EHR")).to_be_visible()
    page.get_by_role("button", name="Continue to sign in").click()
    # The form posts to Quietline, which redirects to the EHR's authorization endpoint; the
    # form page's CSP form-action must allow that redirect or Chromium blocks it.
    try:
        page.wait_for_url(
            re.compile(re.escape(sandbox.authorization_endpoint + "?")), timeout=5_000
        )
    except PlaywrightTimeoutError:
        pytest.fail(
            f"Chromium did not follow Quietline's redirect to the EHR's sign-in page; still on "
            f"{page.url}; CSP reports: {csp_violations(console)}",
            pytrace=False,
        )

    # The sandbox EHR (another site, top level): sign in as the therapist.
    expect(page.get_by_role("heading", name="Sign in to allow quietline")).to_be_visible()
    page.get_by_label(USERS["therapist"]).check()
    page.get_by_role("button", name="Sign in and continue").click()

    # Its patient picker: choose pat-3 (not the preselected first patient).
    expect(page.get_by_role("heading", name="Choose a patient for quietline")).to_be_visible()
    expect(page.locator("header")).to_contain_text(USERS["therapist"])
    choice = page.locator("#patient-pat-3")
    picked_label = page.locator('label[for="patient-pat-3"]').inner_text()
    picked_name = picked_label.split(",", 1)[0].strip()
    choice.check()
    page.get_by_role("button", name="Allow access to this patient").click()

    # Back at Quietline, top level, on the launched home page with that patient's banner.
    expect(page.locator("#patient-name")).to_have_text(picked_name)
    assert urlsplit(page.url).netloc == urlsplit(quietline.url).netloc
    expect(page.locator('li.capability.available[data-capability="screening"]')).to_be_visible()

    # The launch belongs to this browser's cookie and carries the chosen patient and user.
    cookie = quietline_cookie(context.cookies())
    live = get_service(SqlLaunchStore, quietline.app).open(
        launch_handle(page.url), lookup_hash(cookie["value"])
    )
    assert live.context.patient == "pat-3"
    assert live.context.tenant == "sandbox"
    assert live.context.launch_type == "standalone"
    assert live.context.fhir_user is not None
    assert live.context.fhir_user.endswith("/Practitioner/therapist")
    assert csp_violations(console) == []
