# SPDX-License-Identifier: Apache-2.0
"""No token in any cookie, URL, page or log line produced during a launch."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from plugin.crypto import lookup_hash
from plugin.launch.store import SqlLaunchStore
from plugin.registry import get_service
from plugin.store import Database
from smart_launch.sandbox.server import RunningSandbox
from tests.support.servers import Quietline
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url


def test_tokens_never_leave_the_server_side_store(
    quietline: Quietline,
    sandbox: RunningSandbox,
    walker: Walker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pages: list[str] = []
    launch_url = ehr_launch_url(walker, sandbox.url, "pat-1", "therapist")
    home = walker.get(launch_url)
    assert home.status_code == 200
    pages.append(home.text)
    pages.append(walker.get(home.url).text)

    handle = urlsplit(home.url).path.split("/")[2]
    cookie = walker.quietline_cookie(quietline.url)
    assert cookie is not None
    live = get_service(SqlLaunchStore, quietline.app).open(handle, lookup_hash(cookie))
    secrets = [live.tokens.access_token]
    assert live.tokens.refresh_token is not None
    secrets.append(live.tokens.refresh_token)
    token_request = sandbox.request_log.matching("/auth/token")[0].form
    secrets.append(token_request["code_verifier"])
    callback = next(u for u in walker.visited if urlsplit(u).path == "/callback")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    launch = parse_qs(urlsplit(launch_url).query)["launch"][0]

    quietline_logs = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("smart_launch.sandbox")
    )
    for secret in secrets:
        for url in walker.visited:
            assert secret not in url
        for header in walker.set_cookie_headers:
            assert secret not in header
        for page in pages:
            assert secret not in page
        assert secret not in quietline_logs
    for transient in (state, code, launch):
        assert transient not in quietline_logs

    # Nothing readable at rest either: tokens, verifier and patient id are sealed.
    with get_service(Database, quietline.app).session() as session:
        rows = session.execute(text("SELECT * FROM launches")).all()
        rows += session.execute(text("SELECT * FROM pending_states")).all()
    dump = repr(rows)
    for secret in [*secrets, "pat-1", state]:
        assert secret not in dump
