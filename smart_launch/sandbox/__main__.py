# SPDX-License-Identifier: Apache-2.0
"""Run the sandbox EHR in the foreground.

``python -m smart_launch.sandbox --host 127.0.0.1 --port 8700 --db PATH --clients FILE
[--public-url URL] [--cds URL ...]``
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import ConfigError
from .config import SandboxConfig
from .config import load_clients
from .server import start

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

__all__ = ["main"]

log = logging.getLogger("smart_launch.sandbox")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m smart_launch.sandbox",
        description="Run the embedded SMART-on-FHIR sandbox EHR (synthetic data only).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8700, help="port to bind, 0 for any (8700)")
    parser.add_argument(
        "--db", type=Path, default=Path("instance/sandbox-ehr.sqlite3"), help="SQLite file"
    )
    parser.add_argument("--clients", type=Path, help="JSON file with a list of client objects")
    parser.add_argument("--public-url", help="root URL as browsers reach it (default: bound URL)")
    parser.add_argument(
        "--token-lifetime", type=int, default=3600, help="access token lifetime in seconds"
    )
    parser.add_argument(
        "--require-if-match", action="store_true", help="answer 428 to updates without If-Match"
    )
    parser.add_argument(
        "--cds",
        action="append",
        default=[],
        metavar="URL",
        help="base URL of a CDS service (.../cds-services) called on Book and Change; repeatable",
    )
    return parser


def _allow_plain_http(public_url: str) -> None:
    """authlib refuses plain HTTP except on loopback; the sandbox is plain HTTP by design."""
    parts = urlsplit(public_url)
    if parts.scheme != "http" or not parts.hostname or parts.hostname == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:  # a host name, not an address
        loopback = False
    if loopback:
        return
    log.warning("Serving OAuth over plain HTTP on %s; use this only for development.", parts.netloc)
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        clients = load_clients(args.clients) if args.clients else []
    except ConfigError as exc:
        parser.error(str(exc))
    if not clients:
        log.warning("No clients registered; pass --clients FILE to embed an app.")
    config = SandboxConfig(
        public_url=args.public_url or "",
        db_path=args.db,
        clients=clients,
        access_token_lifetime=args.token_lifetime,
        require_if_match=args.require_if_match,
        cds_services=tuple(url.rstrip("/") for url in args.cds),
    )
    running = start(config, host=args.host, port=args.port)
    _allow_plain_http(running.url)
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sys.stdout.write(f"Sandbox EHR running at {running.url} (FHIR base {running.fhir_base})\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
