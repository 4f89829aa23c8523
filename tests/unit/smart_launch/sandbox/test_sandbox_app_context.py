# SPDX-License-Identifier: Apache-2.0
"""``/ehr/launch?app_context=...`` reaches the app once, in the token response's ``appContext``."""

from __future__ import annotations

import re
import sqlite3
from html import unescape
from typing import TYPE_CHECKING

from smart_launch.sandbox.database import Database
from smart_launch.sandbox.grants import GrantStore
from smart_launch.sandbox.pages import MAX_APP_CONTEXT

if TYPE_CHECKING:
    from pathlib import Path

    from tests.unit.smart_launch.sandbox.conftest import Flow

APP_CONTEXT = '{"verify":{"appointment":"appt-1-next","action":"reschedule"}}'


def _launch(flow: Flow, app_context: str | None, app: str = "quietline") -> str:
    params = {"patient": "pat-1", "user": "frontdesk", "app": app}
    if app_context is not None:
        params["app_context"] = app_context
    response = flow.http.get(flow.ehr.url + "/ehr/launch", params=params)
    assert response.status_code == 200, response.text
    match = re.search(r'<iframe id="app-frame" title="Quietline" src="([^"]+)"', response.text)
    assert match is not None
    src = unescape(match.group(1))
    assert "appt-1-next" not in src
    return flow.query_of(src)["launch"]


def test_the_token_response_carries_the_app_context(flow: Flow) -> None:
    body = flow.token(launch=_launch(flow, APP_CONTEXT))
    assert body["appContext"] == APP_CONTEXT
    assert body["patient"] == "pat-1"


def test_a_launch_without_app_context_has_none(flow: Flow) -> None:
    assert "appContext" not in flow.token(launch=_launch(flow, None))
    assert "appContext" not in flow.token(launch=_launch(flow, ""))


def test_a_private_key_jwt_client_gets_it_too(flow: Flow) -> None:
    body = flow.token("quietline-jwt", launch=_launch(flow, APP_CONTEXT, app="quietline-jwt"))
    assert body["appContext"] == APP_CONTEXT


def test_a_refreshed_token_does_not_repeat_it(flow: Flow) -> None:
    body = flow.token(
        launch=_launch(flow, APP_CONTEXT), scope="launch openid fhirUser offline_access"
    )
    assert body["appContext"] == APP_CONTEXT
    refreshed = flow.token_request(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        client_id="quietline",
    )
    assert refreshed.status_code == 200, refreshed.text
    assert "appContext" not in refreshed.json()


def test_an_oversized_app_context_is_refused(flow: Flow) -> None:
    params = {"patient": "pat-1", "user": "frontdesk", "app_context": "x" * (MAX_APP_CONTEXT + 1)}
    response = flow.http.get(flow.ehr.url + "/ehr/launch", params=params)
    assert response.status_code == 400
    assert "too long" in response.text
    assert 'id="app-frame"' not in response.text


def test_an_older_database_file_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE launches (id TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
            " user_id TEXT NOT NULL, patient TEXT NOT NULL, encounter TEXT,"
            " created_at REAL NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE auth_codes (code_hash TEXT PRIMARY KEY, family TEXT NOT NULL,"
            " client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, scope TEXT NOT NULL,"
            " user_id TEXT NOT NULL, patient TEXT, encounter TEXT, nonce TEXT,"
            " code_challenge TEXT NOT NULL, code_challenge_method TEXT NOT NULL,"
            " created_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0)"
        )
    conn.close()
    db = Database(path)
    try:
        with db.connection() as conn:
            for table in ("launches", "auth_codes"):
                columns = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
                assert "app_context" in columns
        grants = GrantStore(db)
        record = grants.create_launch(
            client_id="quietline",
            user_id="frontdesk",
            patient="pat-1",
            encounter=None,
            app_context=APP_CONTEXT,
        )
        live = grants.live_launch(record.id)
        assert live is not None
        assert live.app_context == APP_CONTEXT
    finally:
        db.close()
    Database(path).close()  # opening it again changes nothing
