# SPDX-License-Identifier: Apache-2.0
"""Sign-in starts are rate-limited and capped; a captured redirect cannot burn a sign-in."""

from __future__ import annotations

import requests

from plugin.launch.limits import LaunchRateLimiter
from plugin.launch.models import PendingState
from plugin.launch.services import LaunchService
from plugin.registry import get_service
from smart_launch.sandbox.server import RunningSandbox
from tests.support.launches import callback_url
from tests.support.launches import error_code
from tests.support.launches import row_count
from tests.support.servers import Quietline
from tests.support.walker import Walker


def _pending_count(quietline: Quietline) -> int:
    return row_count(quietline, PendingState)


def _starts(
    quietline: Quietline, sandbox: RunningSandbox, limiter: LaunchRateLimiter, count: int
) -> list[requests.Response]:
    """Start ``count`` sign-ins from the sandbox, each from a new browser, under ``limiter``."""
    get_service(LaunchService, quietline.app).limiter = limiter
    url = f"{quietline.url}/launch?iss={sandbox.fhir_base}&launch=not-checked-before-authorize"
    return [Walker().get(url, follow=False) for _ in range(count)]


def test_a_redirect_used_in_another_browser_leaves_the_sign_in_to_its_owner(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    callback = callback_url(walker, sandbox)

    stranger = Walker().get(callback)
    assert stranger.status_code == 400
    assert error_code(stranger) == "invalid_state"
    assert "started in another browser" in stranger.text
    assert sandbox.request_log.matching("/auth/token") == []

    owner = walker.get(callback)
    assert owner.status_code == 200, owner.text[:300]
    assert "/l/" in owner.url
    assert len(sandbox.request_log.matching("/auth/token")) == 1


def test_launch_starts_are_rate_limited_per_client_and_write_nothing(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    limiter = LaunchRateLimiter(per_client_burst=3, per_client_rate=0.001)

    answers = _starts(quietline, sandbox, limiter, 5)

    assert [page.status_code for page in answers] == [302, 302, 302, 429, 429]
    assert error_code(answers[-1]) == "too_many_sign_ins"
    assert "Wait a minute" in answers[-1].text
    assert "Location" not in answers[-1].headers
    assert "<title>Too many attempts" in answers[-1].text
    assert _pending_count(quietline) == 3


def test_total_sign_in_starts_are_limited_across_clients(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    limiter = LaunchRateLimiter(total_burst=2, total_rate=0.001)

    answers = _starts(quietline, sandbox, limiter, 3)

    assert [page.status_code for page in answers] == [302, 302, 503]
    assert "<title>Quietline is busy" in answers[-1].text
    assert "EHR" not in answers[-1].text.split("</title>")[0]
    assert _pending_count(quietline) == 2


def test_one_browser_cannot_pile_up_pending_states(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    states = get_service(LaunchService, quietline.app).client.states
    states.per_binding = 2  # type: ignore[attr-defined]
    url = f"{quietline.url}/launch?iss={sandbox.fhir_base}&launch=x"

    codes = [walker.get(url, follow=False).status_code for _ in range(3)]

    assert codes == [302, 302, 429]
    assert _pending_count(quietline) == 2
