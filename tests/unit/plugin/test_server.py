# SPDX-License-Identifier: Apache-2.0
"""The embedded server's access log: method, path and status, never the query string."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from gunicorn import glogging
from gunicorn.config import Config

from plugin.app import create_app
from plugin.registry import get_service
from plugin.server import GUNICORN_ACCESS_LOG_FORMAT
from plugin.server import ServerThread
from plugin.store import Database
from smart_launch.keys import ClientKeys
from tests.support.servers import make_settings
from tests.unit.plugin.support import PUBLIC_URL
from tests.unit.plugin.support import write_client_keys

QUERY_SECRETS = ("SECRET", "S2", "code=", "state=", "?")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, client_keys: ClientKeys
) -> Iterator[ServerThread]:
    """One live server for the module (stopping one takes half a second).

    The access log does not touch the database, so this app uses its own SQLite file.
    """
    root = tmp_path_factory.mktemp("server")
    write_client_keys(root / "instance" / "client_keys.json", client_keys)
    settings = make_settings(root / "instance", f"sqlite:///{root / 'q.db'}", PUBLIC_URL)
    app = create_app(settings)
    running = ServerThread("127.0.0.1", 0, app).start()
    yield running
    running.stop()
    get_service(Database, app).dispose()


def _server_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Everything logged except the test's own HTTP client (urllib3 logs the URL it fetches)."""
    return [r.getMessage() for r in caplog.records if not r.name.startswith("urllib3")]


def test_port_zero_binds_a_free_port(server: ServerThread) -> None:
    assert server.port > 0
    response = requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
    assert response.status_code == 200


def test_access_log_has_method_path_and_status_but_no_query(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{server.port}/healthz?code=SECRET&state=S2"

    assert requests.get(url, timeout=5).status_code == 200
    assert requests.post(url, timeout=5).status_code == 405

    access = [r.getMessage() for r in caplog.records if r.name == "quietline.access"]
    assert "GET /healthz 200" in access
    assert "POST /healthz 405" in access
    for message in _server_messages(caplog):
        for fragment in QUERY_SECRETS:
            assert fragment not in message, message


MALFORMED = pytest.mark.parametrize(
    "request_line",
    [
        b"GET /healthz?code=SECRET&state=S2 HTTX/1.1",
        b"GET /healthz?code=SECRET&state=S2 extra HTTP/1.1",
    ],
    ids=["bad-version", "bad-syntax"],
)


def _send_raw(server: ServerThread, request_line: bytes) -> bytes:
    """Send one request line and read until the server answers or closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(request_line + b"\r\n\r\n")
        return conn.recv(4096)


@MALFORMED
def test_malformed_request_is_answered_400(server: ServerThread, request_line: bytes) -> None:
    answer = _send_raw(server, request_line)
    # http.server answers an unparseable version HTTP/0.9-style (no status line), so accept
    # either a 400 status line or the 400 error document; a dropped connection fails both.
    status_line = answer.split(b"\r\n", 1)[0]
    assert re.fullmatch(rb"HTTP/1\.[01] 400 .*", status_line) or b"Error code: 400" in answer


@MALFORMED
def test_malformed_request_does_not_log_the_query(
    server: ServerThread, caplog: pytest.LogCaptureFixture, request_line: bytes
) -> None:
    caplog.set_level(logging.DEBUG)

    _send_raw(server, request_line)

    messages = _server_messages(caplog)
    assert messages
    for message in messages:
        for fragment in QUERY_SECRETS:
            assert fragment not in message, message


def test_the_documented_gunicorn_access_log_format_omits_the_query(tmp_path: Path) -> None:
    """gunicorn's own logger, given the format the module documents, writes no query string."""
    logfile = tmp_path / "access.log"
    config = Config()
    config.set("accesslog", str(logfile))
    config.set("access_log_format", GUNICORN_ACCESS_LOG_FORMAT)
    logger = glogging.Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/callback?code=SECRET&state=S2",
        "PATH_INFO": "/callback",
        "QUERY_STRING": "code=SECRET&state=S2",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://ehr.example/authorize?state=S2",
    }
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])

    logger.access(response, request, environ, timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.flush()

    line = logfile.read_text(encoding="utf-8")
    assert '"GET /callback HTTP/1.1" 302' in line
    for fragment in QUERY_SECRETS:
        assert fragment not in line, line
