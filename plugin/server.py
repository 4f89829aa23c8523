# SPDX-License-Identifier: Apache-2.0
"""A threaded WSGI server for the embedded default whose access log omits query strings.

Query strings carry ``launch``, ``code`` and ``state`` during a launch.  What this repository
provides is :class:`QuietRequestHandler`, the request handler of the embedded server
(``quietline serve``, ``quietline demo``): it logs method, path and status only.

The repository ships no gunicorn configuration.  gunicorn writes no access log unless
``--access-logfile`` is given, and its default format contains ``%(r)s`` (the request line, query
string included).  An operator who enables gunicorn's access log must also set a format that
uses the path atom ``%(U)s`` and none of ``%(r)s``, ``%(q)s`` (the query string) or ``%(f)s``
(the Referer, which can carry the previous page's query), for example
``--access-logformat '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)s'``
(:data:`GUNICORN_ACCESS_LOG_FORMAT`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

__all__ = [
    "GUNICORN_ACCESS_LOG_FORMAT",
    "QuietRequestHandler",
    "ServerThread",
    "make_quiet_server",
]

log = logging.getLogger("quietline.access")

GUNICORN_ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)s'
"""An access-log format for gunicorn (``--access-logformat``) without query string or Referer."""


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
