# SPDX-License-Identifier: Apache-2.0
"""smart_launch.flask: the Server-Timing header splits the app's own time from the EHR's."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from werkzeug.wrappers import Response

from smart_launch.errors import UpstreamUnavailable
from smart_launch.flask import init_server_timing
from smart_launch.http import make_session

if TYPE_CHECKING:
    from conftest import Peer
    from flask.testing import FlaskClient

TIMING = re.compile(r'^app;dur=(\d+\.\d{2}), ehr;dur=(\d+\.\d{2});desc="(\d+)"$')


def _slow(_request: object) -> Response:
    time.sleep(0.1)
    return Response("{}", content_type="application/json")


@pytest.fixture
def app(peer: Peer) -> Flask:
    peer.route("GET", "/slow", _slow)
    app = Flask(__name__)
    init_server_timing(app)

    @app.get("/ehr-twice")
    def ehr_twice() -> str:
        with make_session() as session:
            session.get(peer.url + "/slow")
            session.get(peer.url + "/slow")
        return "ok"

    @app.get("/local")
    def local() -> str:
        time.sleep(0.05)
        return "ok"

    @app.get("/down")
    def down() -> str:
        raise UpstreamUnavailable

    @app.errorhandler(UpstreamUnavailable)
    def unavailable(error: UpstreamUnavailable) -> tuple[str, int]:
        return error.description, error.status_code

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _timing(client: FlaskClient, path: str) -> tuple[float, float, int]:
    response = client.get(path)
    match = TIMING.match(response.headers["Server-Timing"])
    assert match is not None, response.headers["Server-Timing"]
    return float(match[1]), float(match[2]), int(match[3])


def test_ehr_time_is_reported_apart_from_the_apps_own_time(client: FlaskClient) -> None:
    app_ms, ehr_ms, calls = _timing(client, "/ehr-twice")
    assert calls == 2
    assert ehr_ms >= 200
    assert app_ms < ehr_ms


def test_a_request_without_ehr_calls_reports_zero_ehr_time(client: FlaskClient) -> None:
    app_ms, ehr_ms, calls = _timing(client, "/local")
    assert (ehr_ms, calls) == (0.0, 0)
    assert app_ms >= 50


def test_each_request_starts_a_fresh_timer(client: FlaskClient) -> None:
    first = _timing(client, "/ehr-twice")
    second = _timing(client, "/ehr-twice")
    assert first[2] == second[2] == 2
    assert second[1] < 400


@pytest.mark.parametrize(("path", "status"), [("/down", 503), ("/missing", 404)])
def test_error_responses_carry_the_header_too(client: FlaskClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert TIMING.match(response.headers["Server-Timing"])


def test_apps_without_the_adapter_send_no_header() -> None:
    plain = Flask(__name__)
    plain.add_url_rule("/", "index", lambda: "ok")
    assert "Server-Timing" not in plain.test_client().get("/").headers
