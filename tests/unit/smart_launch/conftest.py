# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for the smart_launch unit tests: a real HTTP peer and the app's keys.

:class:`Peer` is a tiny WSGI app served by werkzeug on ``127.0.0.1`` (port 0) in a thread. It
answers from a route table (canned discovery documents, JWKS, token responses) and records
every request it receives, so a test can assert what was sent and count how often.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from smart_launch.keys import ClientKeys

Handler = Callable[[Request], Response]


class Peer:
    """A real HTTP server answering from a route table and recording what it receives.

    A request with no route gets ``missing_status`` (404 unless a test changes it).
    """

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.seen: list[Request] = []
        self.url = ""
        self.missing_status = 404
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.get_data()
        with self._lock:
            self.seen.append(request)
        handler = self.routes.get((request.method, request.path))
        response = handler(request) if handler else Response("no route", status=self.missing_status)
        return response(environ, start_response)

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` with ``handler(request)``."""
        self.routes[(method, path)] = handler

    def json(self, path: str, body: object, *, status: int = 200, method: str = "GET") -> None:
        """Answer ``method path`` with ``body`` as JSON."""
        text = json.dumps(body)
        self.route(
            method,
            path,
            lambda _r: Response(text, status=status, content_type="application/json"),
        )

    def text(
        self,
        path: str,
        body: str,
        *,
        status: int = 200,
        method: str = "GET",
        content_type: str = "text/html",
    ) -> None:
        """Answer ``method path`` with a non-JSON body."""
        self.route(
            method, path, lambda _r: Response(body, status=status, content_type=content_type)
        )

    def requests_to(self, path: str) -> list[Request]:
        """The requests received for ``path``, oldest first."""
        with self._lock:
            return [request for request in self.seen if request.path == path]

    def hits(self, path: str) -> int:
        """How many requests ``path`` received."""
        return len(self.requests_to(path))

    @property
    def token_endpoint(self) -> str:
        """``{url}/auth/token``, the token endpoint :meth:`smart_configuration` publishes."""
        return self.url + "/auth/token"

    @property
    def forms(self) -> list[dict[str, str]]:
        """The form fields of every POST received, oldest first."""
        with self._lock:
            return [dict(request.form) for request in self.seen if request.method == "POST"]

    @property
    def fhir_base(self) -> str:
        """``{url}/fhir``; its SMART configuration is at ``/fhir/.well-known/...``."""
        return self.url + "/fhir"

    def smart_configuration(self, **overrides: Any) -> dict[str, Any]:
        """Publish a valid SMART configuration for :attr:`fhir_base`; ``None`` drops a field."""
        document: dict[str, Any] = {
            "issuer": self.url,
            "authorization_endpoint": self.url + "/auth/authorize",
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.url + "/.well-known/jwks.json",
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "capabilities": ["launch-ehr", "launch-standalone", "client-confidential-symmetric"],
        }
        document.update(overrides)
        document = {key: value for key, value in document.items() if value is not None}
        self.json("/fhir/.well-known/smart-configuration", document)
        return document


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 until the generator is closed."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


@contextmanager
def running_peer() -> Iterator[Peer]:
    """A :class:`Peer` serving real HTTP until the generator is closed."""
    app = Peer()
    with serve(app) as url:
        app.url = url
        yield app


@pytest.fixture
def peer() -> Iterator[Peer]:
    """A :class:`Peer` serving real HTTP, stopped after the test."""
    with running_peer() as app:
        yield app


@pytest.fixture
def other_peer() -> Iterator[Peer]:
    """A second :class:`Peer` on its own port, for requests that must not reach it."""
    with running_peer() as app:
        yield app


@pytest.fixture
def closed_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def app_keys() -> ClientKeys:
    """One RS384 + ES384 client key pair for the whole run (RSA generation is slow)."""
    return ClientKeys.generate()
