# SPDX-License-Identifier: Apache-2.0
"""A threaded WSGI server for the embedded default whose access log omits query strings.

Query strings carry ``launch``, ``code`` and ``state`` during a launch; they never reach a log.
Production runs gunicorn with an access-log format that uses the path only (``%(U)s``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

__all__ = ["QuietRequestHandler", "ServerThread", "make_quiet_server"]

log = logging.getLogger("quietline.access")


class QuietRequestHandler(WSGIRequestHandler):
    """Logs ``METHOD /path STATUS`` and nothing else."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # noqa: ARG002
        # A malformed request line is answered before ``path`` and ``command`` exist.
        path = str(getattr(self, "path", "") or "-").split("?", 1)[0]
        log.info("%s %s %s", getattr(self, "command", None) or "-", path, code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
        """Werkzeug's version logs the raw request line, query string included."""
        log.warning("malformed request refused")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Drop werkzeug's own messages: they can echo the request line with its query."""


def make_quiet_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)


class ServerThread:
    """Runs a server in a daemon thread; ``port`` is the bound port (0 picks a free one)."""

    def __init__(self, host: str, port: int, app: Any) -> None:
        self.server = make_quiet_server(host, port, app)
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
