# SPDX-License-Identifier: Apache-2.0
"""Steps through a launch that the functional tests share: opening the chart, signing in at the
sandbox EHR, picking the patient, and reading what Quietline recorded or refused."""

from __future__ import annotations

import html
import re
from typing import Any

import requests
from sqlalchemy import func
from sqlalchemy import select

from plugin.registry import get_service
from plugin.store import Database
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import hidden_fields
from tests.support.servers import Quietline
from tests.support.servers import register_sandbox_tenant
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url
from tests.support.walker import iframe_src

_NOTICE = re.compile(r'<p class="session-notice"[^>]*>(.*?)</p>', re.DOTALL)


def chart_launch(
    walker: Walker,
    sandbox: RunningSandbox,
    app: str,
    *,
    patient: str = "pat-1",
    user: str = "therapist",
) -> requests.Response:
    """Open ``patient``'s chart as ``user`` with ``app`` and follow its iframe into Quietline."""
    chart = walker.get(f"{sandbox.url}/ehr/launch?patient={patient}&user={user}&app={app}")
    assert chart.status_code == 200, chart.text[:300]
    return walker.get(iframe_src(chart.text))


def callback_url(walker: Walker, sandbox: RunningSandbox) -> str:
    """Start a launch from pat-1's chart as the therapist and return the callback URL the EHR
    redirects to after authorizing, without following it."""
    launch = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist"), follow=False)
    authorize = walker.get(launch.headers["Location"], follow=False)
    return str(authorize.headers["Location"])


def register_secret_client(
    quietline: Quietline, sandbox: RunningSandbox, client_id: str, secret: str, **options: Any
) -> None:
    """Register the sandbox tenant with a client that authenticates by shared secret."""
    register_sandbox_tenant(
        quietline,
        sandbox,
        auth_method="client_secret_basic",
        client_id=client_id,
        client_secret=secret,
        **options,
    )


def sign_in_and_pick(
    walker: Walker, login: requests.Response, patient: str, user: str = "therapist"
) -> tuple[requests.Response, requests.Response]:
    """Sign in as ``user`` on the sandbox's login page, then allow ``patient`` on its picker.

    Returns the picker page and the page the picker leads to.
    """
    picker = walker.post(
        login.url.split("?")[0],
        {**hidden_fields(login.text), "user": user, "action": "login"},
    )
    chosen = walker.post(
        picker.url.split("?")[0],
        {**hidden_fields(picker.text), "patient": patient, "action": "patient"},
    )
    return picker, chosen


def session_notice(page: str) -> str:
    """The text of the page's session notice."""
    notice = _NOTICE.search(page)
    assert notice is not None, "the page has no session notice"
    return notice.group(1)


def relaunch_link(page: str) -> str:
    """The relaunch link in the page's session notice."""
    link = re.search(r'href="([^"]+)"', session_notice(page))
    assert link is not None, "the session notice has no link"
    return html.unescape(link.group(1))


def error_code(page: requests.Response) -> str:
    """The ``data-error`` code of an error page."""
    marker = 'data-error="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def row_count(quietline: Quietline, model: type[Any]) -> int:
    """How many rows of ``model`` Quietline's database holds."""
    with get_service(Database, quietline.app).session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)
