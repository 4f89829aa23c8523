# SPDX-License-Identifier: Apache-2.0
"""Every launch failure ends on a clear page, with nothing sent that should not be."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from plugin.launch.models import LaunchRecord
from plugin.registry import get_service
from plugin.store import Database
from smart_launch.sandbox.server import RunningSandbox
from tests.support.launches import callback_url
from tests.support.launches import error_code
from tests.support.launches import row_count
from tests.support.servers import Quietline
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url


def _launch_count(quietline: Quietline) -> int:
    return row_count(quietline, LaunchRecord)


def test_unlisted_iss_is_refused_without_any_outbound_request(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    sandbox.request_log.clear()
    for iss in (sandbox.url + "/other-fhir", "http://127.0.0.1:9/fhir", "javascript:alert(1)"):
        page = walker.get(f"{quietline.url}/launch?iss={iss}&launch=abc")
        assert page.status_code == 400
        assert error_code(page) == "issuer_not_allowed"
        assert "not registered with Quietline" in page.text
    assert list(sandbox.request_log) == []


def test_launch_without_parameters_explains_how_to_open_quietline(
    quietline: Quietline, walker: Walker
) -> None:
    page = walker.get(f"{quietline.url}/launch")
    assert page.status_code == 400
    assert "opened from the EHR" in page.text


def test_missing_state_is_refused_before_any_token_request(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = walker.get(f"{quietline.url}/callback?code=abc")
    assert page.status_code == 400
    assert error_code(page) == "invalid_state"
    assert sandbox.request_log.matching("/auth/token") == []


def test_replayed_state_is_refused_and_the_code_is_not_exchanged_twice(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    assert walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist")).status_code == 200
    callback = next(url for url in walker.visited if urlsplit(url).path == "/callback")
    replay = walker.get(callback)
    assert replay.status_code == 400
    assert error_code(replay) == "invalid_state"
    assert len(sandbox.request_log.matching("/auth/token")) == 1


def test_state_from_another_browser_is_refused(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    callback = callback_url(walker, sandbox)
    stranger = Walker()
    page = stranger.get(callback)
    assert page.status_code == 400
    assert error_code(page) == "invalid_state"
    assert sandbox.request_log.matching("/auth/token") == []
    assert _launch_count(quietline) == 0


def test_error_from_authorize_endpoint_stops_before_token_request(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    sandbox.config.faults.authorize_error = "access_denied"
    page = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist"))
    assert page.status_code == 403
    assert "did not authorise Quietline (access_denied)" in page.text
    assert sandbox.request_log.matching("/auth/token") == []


@pytest.mark.parametrize("fault", ["discovery_without_s256", "discovery_offers_plain"])
def test_discovery_without_safe_pkce_is_refused_before_authorize(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker, fault: str
) -> None:
    setattr(sandbox.config.faults, fault, True)
    page = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist"))
    assert page.status_code == 502
    assert error_code(page) == "invalid_smart_configuration"
    assert "PKCE" in page.text
    assert sandbox.request_log.matching("/auth/authorize") == []


@pytest.mark.parametrize("fault", ["signature", "aud", "iss", "exp"])
def test_bad_id_token_creates_no_session(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker, fault: str
) -> None:
    sandbox.config.faults.id_token_fault = fault
    page = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist"))
    assert page.status_code == 401
    assert error_code(page) == "invalid_id_token"
    assert "sign-in refused" in page.text
    assert _launch_count(quietline) == 0


def test_expired_session_shows_relaunch_prompt(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    home = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist"))
    assert home.status_code == 200
    past = datetime.now(UTC) - timedelta(minutes=1)
    with get_service(Database, quietline.app).session() as session:
        session.execute(update(LaunchRecord).values(expires_at=past))
    page = walker.get(home.url)
    assert page.status_code == 401
    assert error_code(page) == "session_expired"
    assert "open Quietline again from the client's chart" in page.text
    assert "Traceback" not in page.text


def test_launch_page_without_cookie_is_refused(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    home = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist"))
    page = Walker().get(home.url)
    assert page.status_code == 401
    assert error_code(page) == "session_expired"


def test_ehr_outage_during_launch_gives_a_clear_page(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    launch_url = ehr_launch_url(walker, sandbox.url, "pat-1", "therapist")
    sandbox.stop()
    page = walker.get(launch_url)
    assert page.status_code == 503
    assert "not responding" in page.text
