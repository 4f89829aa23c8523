# SPDX-License-Identifier: Apache-2.0
"""Assembling the sandbox Flask app and running it on a real, threaded HTTP server.

:func:`create_sandbox_app` builds the WSGI app; :func:`start` binds a werkzeug server (port 0
picks a free port and fixes ``public_url`` to it) in a daemon thread and returns a
:class:`RunningSandbox`.  The console access log shows method and path only: query strings
carry authorization codes, launch ids and state, so they are never printed.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading
from typing import TYPE_CHECKING
from typing import Any
from typing import Self
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import Flask
from flask import Response
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from . import authorize_views
from . import fhir_views
from . import pages
from . import schedule_views
from . import wellknown
from .auth_server import create_authorization_server
from .cds_client import CdsClient
from .cds_jwt import load_cds_key
from .config import ConfigError
from .config import Faults
from .config import SandboxConfig
from .database import Database
from .fhir_http import MAX_BODY_BYTES
from .fhir_http import FhirHttpError
from .grants import GrantStore
from .jwks import JwksCache
from .request_log import RequestLog
from .request_log import RequestRecord
from .seed import seed_resources
from .signing import load_signing_key
from .state import EXTENSION_KEY
from .state import SandboxState
from .state import get_state
from .store import ResourceStore

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "QuietRequestHandler",
    "RunningSandbox",
    "close_sandbox_app",
    "create_sandbox_app",
    "start",
]

_QUERY = re.compile(r"\?[^\s\"']*")
_HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "frame-src http: https:; form-action 'self' http: https:; base-uri 'none'; "
    "frame-ancestors 'self'"
)
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _record_request() -> None:
    form = request.form.to_dict(flat=True) if request.mimetype in _FORM_TYPES else {}
    get_state().request_log.append(
        RequestRecord(
            method=request.method,
            path=request.path,
            args=request.args.to_dict(flat=True),
            form=form,
            headers=dict(request.headers.items()),
        )
    )


def _fhir_down() -> Response | None:
    if request.path.startswith("/fhir") and get_state().config.faults.fhir_down:
        return FhirHttpError(503, "transient", "The FHIR server is unavailable.").response()
    return None


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", _HTML_CSP)
    return response


def _http_error(error: HTTPException) -> Any:
    if request.path.startswith("/fhir"):
        code = {404: "not-found", 405: "not-supported", 413: "too-costly"}.get(
            error.code or 500, "exception"
        )
        return FhirHttpError(error.code or 500, code, error.description or error.name).response()
    return error


def create_sandbox_app(config: SandboxConfig, *, request_log: RequestLog | None = None) -> Flask:
    """Build the sandbox app for ``config``, seeding an empty database.

    :raises ConfigError: when ``config.public_url`` is empty.
    """
    if not config.public_url:
        raise ConfigError("The sandbox needs a public_url (or use start() with port 0).")
    db = Database(config.db_path)
    store = ResourceStore(db, config.fhir_base)
    if store.is_empty():
        store.seed(seed_resources())
    grants = GrantStore(db)
    cds_key = load_cds_key(db)
    state = SandboxState(
        config=config,
        db=db,
        store=store,
        grants=grants,
        signing_key=load_signing_key(db),
        jwks_cache=JwksCache(),
        request_log=request_log or RequestLog(),
        cds_key=cds_key,
        cds=CdsClient(config, store, grants, cds_key),
    )
    state.authorization_server = create_authorization_server(state)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=db.setting_or_create("session_secret", lambda: secrets.token_hex(32)),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_NAME="sandbox_ehr_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.public_url.startswith("https://"),
    )
    app.extensions[EXTENSION_KEY] = state
    app.before_request(_record_request)
    app.before_request(_fhir_down)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_blueprint(wellknown.bp)
    app.register_blueprint(authorize_views.bp)
    app.register_blueprint(fhir_views.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(schedule_views.bp)
    return app


def close_sandbox_app(app: Flask) -> None:
    """Release the database connections and HTTP session of an app."""
    state = get_state(app)
    state.jwks_cache.close()
    state.cds.close()
    state.db.close()


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, logging ``METHOD /path`` without the query string."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path or "-"
        command = getattr(self, "command", "-")
        self.log("info", '"%s %s" %s %s', command, path, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        text = message % args if args else message
        super().log(type, "%s", _QUERY.sub("?[query hidden]", text))


def _url_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{host}]" if address.version == 6 else host


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RunningSandbox:
    """A sandbox serving HTTP in a background thread; also a context manager."""

    def __init__(
        self, app: Flask, config: SandboxConfig, server: BaseWSGIServer, thread: threading.Thread
    ) -> None:
        self.app = app
        self.config = config
        self._server = server
        self._thread = thread
        self._stopped = False

    @property
    def url(self) -> str:
        """The root URL ``R`` (issuer)."""
        return self.config.root

    @property
    def fhir_base(self) -> str:
        """``R/fhir``."""
        return self.config.fhir_base

    @property
    def token_endpoint(self) -> str:
        return self.config.token_endpoint

    @property
    def authorization_endpoint(self) -> str:
        return self.config.authorization_endpoint

    @property
    def request_log(self) -> RequestLog:
        """Every request received, with headers and fields, for test assertions."""
        return get_state(self.app).request_log

    @property
    def cds_log(self) -> list[dict[str, Any]]:
        """The CDS calls made so far: ``{service, call, status, cards}``, oldest first."""
        return get_state(self.app).cds.log.snapshot()

    @property
    def faults(self) -> Faults:
        """The runtime faults (shared with ``config.faults``)."""
        return self.config.faults

    def stop(self) -> None:
        """Stop serving, join the thread and close the database (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        close_sandbox_app(self.app)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _not_ready(_environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"The sandbox is starting."]


def start(config: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve ``config`` on ``host:port`` in a daemon thread.

    An empty ``public_url`` becomes ``http://{host}:{bound port}``; with ``port=0`` the port of
    a given ``public_url`` is replaced by the bound one.  The result is written back into
    ``config``.
    """
    server = make_server(host, port, _not_ready, threaded=True, request_handler=QuietRequestHandler)
    try:
        if not config.public_url:
            config.public_url = f"http://{_url_host(host)}:{server.server_port}"
        elif port == 0:
            config.public_url = _with_port(config.public_url, server.server_port)
        app = create_sandbox_app(config)
    except BaseException:
        server.server_close()
        raise
    server.app = app
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name=f"sandbox-ehr-{server.server_port}",
        daemon=True,
    )
    thread.start()
    return RunningSandbox(app, config, server, thread)
