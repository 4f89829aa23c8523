# SPDX-License-Identifier: Apache-2.0
"""Fixtures: settings -> quietline (live) -> sandbox (live, registered) -> walker.

The database is SQLite in a temporary folder unless ``TEST_DATABASE_URL`` (or ``DATABASE_URL``)
names a PostgreSQL server; then every test gets its own schema, dropped afterwards.

With ``QUIETLINE_STRICT_SKIPS=1`` (set by CI) a skipped test is reported as a failure, so a
missing dependency can never pass silently.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from smart_launch.sandbox.server import RunningSandbox
from tests.support.servers import Quietline
from tests.support.servers import register_sandbox_tenant
from tests.support.servers import start_quietline
from tests.support.servers import start_sandbox
from tests.support.walker import Walker


def _base_database_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")


def _pg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    base = _base_database_url()
    if base is None or base.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'quietline.db'}"
        return
    url = _pg_url(base)
    schema = "t_" + secrets.token_hex(6)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def quietline(tmp_path: Path, database_url: str) -> Iterator[Quietline]:
    running = start_quietline(tmp_path / "instance", database_url)
    yield running
    running.stop()


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Override in a module to configure the sandbox (for example a short token lifetime)."""
    return {}


@pytest.fixture
def sandbox(
    tmp_path: Path, quietline: Quietline, sandbox_options: dict[str, Any]
) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path / "sandbox.db", quietline, **sandbox_options)
    register_sandbox_tenant(quietline, running)
    yield running
    running.stop()


@pytest.fixture
def walker() -> Walker:
    return Walker()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    strict = os.environ.get("QUIETLINE_STRICT_SKIPS") == "1"
    if strict and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped test counts as a failure in CI: {report.longrepr}"
