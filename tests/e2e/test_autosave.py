# SPDX-License-Identifier: Apache-2.0
"""Review drafts save themselves while the clinician types (the forms also work without it)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from plugin.content import FEAR
from plugin.registry import get_service
from plugin.store import Database
from plugin.vault.models import VaultRecord
from smart_launch.sandbox.server import RunningSandbox
from tests.e2e.browser import csp_violations
from tests.support.servers import Quietline

FEAR_TEXT = next(item for item in FEAR.items if item.kind == "text")
TYPED = "Worried about the drive home after sessions"

pytestmark = pytest.mark.browser


def test_typing_saves_the_encrypted_draft_without_a_click(
    quietline: Quietline, sandbox: RunningSandbox, page: Any, console: list[str]
) -> None:
    page.goto(f"{sandbox.url}/ehr/launch?patient=pat-1&user=therapist")
    frame = page.frame_locator("#app-frame")
    frame.get_by_role("link", name="Safety screening and risk review").click()
    frame.get_by_role("button", name="Start a review").click()
    # The script is deferred: typing before it has attached its listeners would not be seen.
    frame.locator("form[data-autosave-ready]").wait_for()
    field = frame.locator(f"[id='{FEAR_TEXT.link_id}']")
    field.fill(TYPED)
    frame.locator("[data-autosave-status]").filter(has_text="Draft saved.").wait_for(timeout=10_000)

    page.reload()
    again = page.frame_locator("#app-frame")
    # A reload of the chart relaunches Quietline; open the same draft by its URL instead.
    with get_service(Database, quietline.app).session() as session:
        row = session.scalars(
            select(VaultRecord).where(VaultRecord.record_type == "screening-draft")
        ).one()
        assert row.version >= 2  # re-sealed by the autosave
        assert TYPED.encode() not in bytes(row.ciphertext or b"")
    again.get_by_role("link", name="Safety screening and risk review").click()
    handle_url = again.locator("a", has_text="Back to Quietline home").get_attribute("href")
    assert handle_url is not None
    base = handle_url.rstrip("/")
    frame_page = page.frames[1]
    frame_page.goto(f"{quietline.url}{base}/review/{row.id}/screening")
    assert frame_page.locator(f"[id='{FEAR_TEXT.link_id}']").input_value() == TYPED
    assert csp_violations(console) == []
