# SPDX-License-Identifier: Apache-2.0
"""launch_required: the handle and the cookie must match, then one permission is checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.config import Settings
from plugin.launch.sessions import COOKIE_NAME
from plugin.launch.sessions import signed_session_id
from plugin.launch.store import SqlLaunchStore
from plugin.registry import get_service
from plugin.tenants.interfaces import TenantRepository
from tests.support.servers import make_settings
from tests.support.stored_launches import stored_launch
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import EHR_ORIGIN
from tests.unit.plugin.support import PUBLIC_URL
from tests.unit.plugin.support import registration

BROWSER_ID = "browser-id-for-the-guard-tests"
SECRET = b"a fixed secret key for the guard tests only"


@pytest.fixture
def settings(instance: Path, database_url: str) -> Settings:
    return make_settings(instance, database_url, PUBLIC_URL, secret_key=SECRET)


@pytest.fixture
def launched(flask_app: Flask, client: FlaskClient) -> tuple[FlaskClient, SqlLaunchStore]:
    tenants = get_service(TenantRepository, flask_app)
    tenants.register(registration())
    tenants.register(
        registration(
            id="other", iss="https://other.example/fhir", frame_origins=("https://o.example",)
        )
    )
    client.set_cookie(COOKIE_NAME, signed_session_id(SECRET, BROWSER_ID))
    return client, get_service(SqlLaunchStore, flask_app)


def _launch(store: SqlLaunchStore, roles: tuple[str, ...], *, patient: str | None = None) -> str:
    session_id = signed_session_id(SECRET, BROWSER_ID)
    return stored_launch(store, session_id, EHR_ISS, roles, patient=patient)


def test_launched_page_opens_with_handle_and_cookie(
    launched: tuple[FlaskClient, SqlLaunchStore],
) -> None:
    client, store = launched
    handle = _launch(store, ("admin",))

    response = client.get(f"/l/{handle}/")

    assert response.status_code == 200
    assert 'data-capability="admin"' in response.text
    assert "access-token-value" not in response.text
    ancestors = re.search(r"frame-ancestors ([^;]+)", response.headers["Content-Security-Policy"])
    assert ancestors is not None
    assert ancestors.group(1) == EHR_ORIGIN


def test_handle_without_the_cookie_is_a_relaunch_page(
    launched: tuple[FlaskClient, SqlLaunchStore], flask_app: Flask
) -> None:
    _, store = launched
    handle = _launch(store, ("admin",))

    response = flask_app.test_client().get(f"/l/{handle}/")

    assert response.status_code == 401
    assert 'data-error="session_expired"' in response.text
    assert 'class="relaunch"' in response.text


def test_unknown_handle_is_a_relaunch_page(launched: tuple[FlaskClient, SqlLaunchStore]) -> None:
    client, _ = launched

    response = client.get("/l/not-a-handle/")

    assert response.status_code == 401
    assert 'data-error="session_expired"' in response.text


def test_user_without_a_role_is_forbidden(launched: tuple[FlaskClient, SqlLaunchStore]) -> None:
    client, store = launched
    handle = _launch(store, ())

    response = client.get(f"/l/{handle}/")

    assert response.status_code == 403
    assert 'data-error="forbidden"' in response.text


def test_ending_the_session_needs_the_form_token(
    launched: tuple[FlaskClient, SqlLaunchStore],
) -> None:
    client, store = launched
    handle = _launch(store, ("clinician",), patient="p1")
    page = client.get(f"/l/{handle}/")
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert token is not None

    refused = client.post(f"/l/{handle}/end", data={"csrf": "0" * 64})
    assert refused.status_code == 400
    assert client.get(f"/l/{handle}/").status_code == 200

    ended = client.post(f"/l/{handle}/end", data={"csrf": token.group(1)})
    assert ended.status_code == 200
    assert "Session ended" in ended.get_data(as_text=True)
    # Shown inside the EHR's iframe: the ended launch's tenant may frame it, nobody else.
    csp = ended.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" not in csp
    assert "frame-ancestors http://127.0.0.1:8700" in csp  # the registered EHR origin
    assert client.get(f"/l/{handle}/").status_code == 401
