# SPDX-License-Identifier: Apache-2.0
"""/healthz answers while the process runs; /readyz checks the database and the signing keys."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from plugin.config import Settings
from plugin.registry import get_service
from plugin.registry import register_service
from plugin.store import Database


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unreachable(url: str, tmp_path: Path) -> str:
    """A URL of the same kind as ``url`` that cannot be opened."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'missing-dir' / 'quietline.db'}"
    return parsed.set(host="127.0.0.1", port=_closed_port()).render_as_string(hide_password=False)


@pytest.fixture
def broken_database(flask_app: Flask, tmp_path: Path) -> Iterator[None]:
    """The app's database becomes unreachable (its engine can no longer connect)."""
    working = get_service(Database, flask_app)
    broken = Database(_unreachable(working.url, tmp_path))
    register_service(flask_app, Database, broken)
    yield
    broken.dispose()
    register_service(flask_app, Database, working)


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_each_check(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "client_keys": "ok", "key_provider": "ok"},
    }


@pytest.mark.usefixtures("broken_database")
def test_readyz_is_503_when_the_database_is_unreachable(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"] == {"database": "failed", "client_keys": "ok", "key_provider": "ok"}
    assert "database unavailable (OperationalError)" in caplog.text


@pytest.mark.usefixtures("broken_database")
def test_healthz_stays_up_when_the_database_is_unreachable(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200


def test_readyz_recovers_when_the_database_is_back(
    flask_app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    working = get_service(Database, flask_app)
    broken = Database(_unreachable(working.url, tmp_path))
    register_service(flask_app, Database, broken)
    assert client.get("/readyz").status_code == 503
    broken.dispose()

    register_service(flask_app, Database, working)
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_key_provider_is_gone(flask_app: Flask) -> None:
    settings = get_service(Settings, flask_app)
    key_file = settings.key_file or settings.instance_path / "keys.json"
    key_file.chmod(0o644)  # a provider that refuses to work (an HSM down looks the same)
    response = flask_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["key_provider"] == "failed"
