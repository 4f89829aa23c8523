# SPDX-License-Identifier: Apache-2.0
"""The sandbox's scheduling page with Quietline over real HTTP: "Verify in Quietline" with an
``appContext``, and Book/Change calling Quietline's own CDS service (no stand-in)."""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote
from urllib.parse import urlsplit

import pytest
import requests

from plugin.cds.cards import LINK_LABEL
from plugin.cds.cards import SUMMARY
from plugin.cds.services import SERVICE_ID
from plugin.codeword.interfaces import PatientFacts
from plugin.codeword.services import CodewordService
from plugin.crypto import lookup_hash
from plugin.launch.services import asks_for_verification
from plugin.launch.store import SqlLaunchStore
from plugin.registry import get_service
from smart_launch.sandbox.state import get_state
from tests.support.walker import iframe_src
from tests.unit.smart_launch.sandbox.desk import Desk
from tests.unit.smart_launch.sandbox.desk import iframe_src as schedule_iframe_src

if TYPE_CHECKING:
    from smart_launch.context import LaunchContext
    from smart_launch.sandbox.server import RunningSandbox
    from tests.support.servers import Quietline
    from tests.support.walker import Walker

APPOINTMENT = "appt-2-next"
HANDLE_PATH = re.compile(r"/l/([^/]+)/")
EHR_LOGGERS = ("smart_launch.sandbox", "authlib.oauth2.rfc6749")


def _context(quietline: Quietline, walker: Walker, landing: requests.Response) -> LaunchContext:
    match = HANDLE_PATH.match(urlsplit(landing.url).path)
    assert match is not None, landing.url
    cookie = walker.quietline_cookie(quietline.url)
    assert cookie is not None
    live = get_service(SqlLaunchStore, quietline.app).open(match.group(1), lookup_hash(cookie))
    return live.context


def _quietline_urls(quietline: Quietline, walker: Walker) -> list[str]:
    return [unquote(url) for url in walker.visited if url.startswith(quietline.url)]


def _version(sandbox: RunningSandbox, appointment: str) -> int:
    stored = get_state(sandbox.app).store.read("Appointment", appointment)
    assert stored is not None
    return stored.version


def _enroll(quietline: Quietline, patient: str = "pat-2") -> None:
    get_service(CodewordService, quietline.app).enroll(
        tenant="sandbox",
        patient_id=patient,
        word="copper lantern harbour",
        confirm="copper lantern harbour",
        facts=PatientFacts(names=("Jordan", "Moreau"), birth_date="1979-11-03"),
        actor="Practitioner/therapist",
        client_present=True,
    )


def test_verify_in_quietline_opens_the_verification_screen_without_ids_in_urls_or_logs(
    quietline: Quietline,
    sandbox: RunningSandbox,
    walker: Walker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    schedule = walker.get(f"{sandbox.url}/ehr/schedule?user=frontdesk&verify={APPOINTMENT}")
    assert schedule.status_code == 200
    landing = walker.get(iframe_src(schedule.text))
    assert landing.status_code == 200, landing.text[:300]
    assert "codeword.index" in quietline.app.view_functions
    assert re.fullmatch(r"/l/[^/]+/codeword/", urlsplit(landing.url).path)
    context = _context(quietline, walker, landing)
    assert context.patient == "pat-2"
    assert json.loads(context.app_context or "") == {
        "verify": {"appointment": APPOINTMENT, "action": "reschedule"}
    }
    for url in _quietline_urls(quietline, walker):
        assert APPOINTMENT not in url
        assert "verify" not in url
    # Quietline's log lines: not the sandbox's own (its authorization server logs the token
    # responses it issues), nor the browser's request for the schedule page.
    quietline_logs = [
        record
        for record in caplog.records
        if not record.name.startswith(EHR_LOGGERS)
        and "/ehr/schedule?" not in record.getMessage()
        and APPOINTMENT in record.getMessage()
    ]
    assert [(r.name, r.getMessage()) for r in quietline_logs] == []


@pytest.mark.parametrize(
    "app_context", ['{"other":{}}', '{"verify":"appt-2-next"}', '["verify"]', "verify", "{"]
)
def test_any_other_app_context_lands_on_home(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker, app_context: str
) -> None:
    chart = walker.http.get(
        f"{sandbox.url}/ehr/launch",
        params={"patient": "pat-1", "user": "frontdesk", "app_context": app_context},
        timeout=10,
    )
    landing = walker.get(iframe_src(chart.text))
    assert landing.status_code == 200
    assert re.fullmatch(r"/l/[^/]+/", urlsplit(landing.url).path)
    assert _context(quietline, walker, landing).app_context == app_context


@pytest.mark.parametrize(
    ("app_context", "expected"),
    [
        ('{"verify":{"appointment":"a","action":"cancel"}}', True),
        ('{"verify":{}}', True),
        ('{"verify":[]}', False),
        ('{"other":{}}', False),
        ("[]", False),
        ("not json", False),
        ("", False),
        (None, False),
    ],
)
def test_asks_for_verification(app_context: str | None, expected: bool) -> None:
    assert asks_for_verification(app_context) is expected


def test_booking_for_a_client_without_a_code_word_goes_through_quietlines_cds(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    desk = Desk(sandbox, requests.Session())
    count = len(get_state(sandbox.app).store.current("Appointment"))
    response = desk.book("pat-1", "2099-04-05T09:00")
    assert response.status_code == 303
    store = get_state(sandbox.app).store
    assert len(store.current("Appointment")) == count + 1
    service = f"{quietline.url}/cds-services/{SERVICE_ID}"
    assert sandbox.cds_log == [
        {
            "service": f"{quietline.url}/cds-services",
            "call": "discovery",
            "status": 200,
            "cards": 0,
        },
        {"service": service, "call": "hook", "status": 200, "cards": 0},
    ]


def test_a_change_for_an_enrolled_client_shows_quietlines_card_and_its_link_verifies(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _enroll(quietline)
    desk = Desk(sandbox, requests.Session())
    page = desk.move(APPOINTMENT, "2099-04-05T09:00")
    assert page.status_code == 200
    assert SUMMARY in page.text
    assert 'class="cds-card cds-critical"' in page.text
    assert f'class="cds-smart-link">{LINK_LABEL}</button>' in page.text
    assert "Change anyway" in page.text
    assert _version(sandbox, APPOINTMENT) == 1

    opened = desk.open_link(page)
    assert opened.status_code == 200
    feedback = sandbox.cds_log[-1]
    assert (feedback["call"], feedback["status"]) == ("feedback", 200)
    landing = walker.get(schedule_iframe_src(opened))
    assert landing.status_code == 200
    assert re.fullmatch(r"/l/[^/]+/codeword/", urlsplit(landing.url).path)
    verify = json.loads(_context(quietline, walker, landing).app_context or "")["verify"]
    assert verify["appointment"] == APPOINTMENT
    for url in _quietline_urls(quietline, walker):
        assert APPOINTMENT not in url
    assert _version(sandbox, APPOINTMENT) == 1  # the EHR wrote nothing


def test_change_anyway_writes_a_new_version_and_quietline_takes_the_feedback(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    _enroll(quietline)
    desk = Desk(sandbox, requests.Session())
    page = desk.move(APPOINTMENT, "2099-04-05T09:00")
    assert SUMMARY in page.text
    assert desk.proceed(page, comment="Client at the desk").status_code == 303
    stored = get_state(sandbox.app).store.read("Appointment", APPOINTMENT)
    assert stored is not None
    assert (stored.version, stored.body["start"]) == (2, "2099-04-05T09:00:00+00:00")
    feedback = sandbox.cds_log[-1]
    assert feedback == {
        "service": f"{quietline.url}/cds-services/{SERVICE_ID}/feedback",
        "call": "feedback",
        "status": 200,
        "cards": 0,
    }
