# SPDX-License-Identifier: Apache-2.0
"""Quietline's CDS Hooks service over real HTTP, called by the sandbox EHR's own CDS client
(its JWTs, its key set at ``jku``, its card parser), and by raw requests where the EHR's client
would never misbehave (replays, many calls at once)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from plugin.app import create_app
from plugin.audit.verify import verify_chain
from plugin.cds.cards import SUMMARY
from plugin.codeword.interfaces import PatientFacts
from plugin.codeword.services import CodewordService
from plugin.crypto.interfaces import KeyProvider
from plugin.registry import get_service
from plugin.server import ServerThread
from plugin.store import Database
from smart_launch.sandbox.cds_client import ServiceAnswer
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.support.servers import Quietline
from tests.support.servers import make_settings
from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import UNSAID
from tests.unit.plugin.cds.support import appointment
from tests.unit.plugin.cds.support import assert_no_empty
from tests.unit.plugin.cds.support import audit_entries
from tests.unit.plugin.cds.support import hook_body

WORD = "copper lantern harbour"


def _enroll(quietline: Quietline, patient: str) -> None:
    get_service(CodewordService, quietline.app).enroll(
        tenant="sandbox",
        patient_id=patient,
        word=WORD,
        confirm=WORD,
        facts=PatientFacts(names=("Jordan", "Moreau"), birth_date="1979-11-03"),
        actor="Practitioner/therapist",
        client_present=True,
    )


def _book(sandbox: RunningSandbox, patient_id: str) -> ServiceAnswer:
    state = get_state(sandbox.app)
    stored = state.store.read("Patient", patient_id)
    assert stored is not None
    (answer,) = state.cds.appointment_book(
        user_id="frontdesk", patient=stored.body, appointment=appointment("appt-new", patient_id)
    )
    return answer


def _signed(sandbox: RunningSandbox, audience: str) -> dict[str, str]:
    jwt = get_state(sandbox.app).cds_key.sign(
        issuer=sandbox.url, jku=sandbox.config.cds_jwks_uri, audience=audience
    )
    return {"Authorization": f"Bearer {jwt}"}


def test_the_ehr_sees_a_card_for_an_enrolled_client_only(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    _enroll(quietline, "pat-2")

    protected = _book(sandbox, "pat-2")
    other = _book(sandbox, "pat-1")

    assert protected.error is None
    (card,) = protected.cards
    assert card.summary == SUMMARY
    assert card.indicator == "critical"
    assert card.source_label == "Quietline"
    (link,) = card.links
    assert link.is_smart
    assert link.url == quietline.settings.launch_url
    assert link.app_context is not None
    assert json.loads(link.app_context) == {
        "verify": {"appointment": "appt-new", "action": "reschedule"}
    }
    for text in (card.summary, card.detail or "", link.label):
        assert not [stem for stem in UNSAID if stem in text.lower()]
    assert other.error is None
    assert other.cards == ()
    calls = [(entry["call"], entry["status"]) for entry in sandbox.cds_log]
    assert calls == [("discovery", 200), ("hook", 200)] * 2


def test_the_ehrs_feedback_is_recorded(quietline: Quietline, sandbox: RunningSandbox) -> None:
    _enroll(quietline, "pat-2")
    answer = _book(sandbox, "pat-2")
    (card,) = answer.cards
    cds = get_state(sandbox.app).cds

    cds.accepted(answer, card)
    cds.overridden(answer, card, None, "went ahead")

    feedback = [e["status"] for e in sandbox.cds_log if e["call"] == "feedback"]
    assert feedback == [200, 200]
    outcomes = [e.detail["outcome"] for e in audit_entries(quietline.app, "cds:hook:feedback")]
    assert outcomes == ["accepted", "overridden"]


def test_the_answer_has_no_nulls_or_empty_strings(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    _enroll(quietline, "pat-1")
    url = quietline.url + SERVICE_PATH

    response = requests.post(
        url, json=hook_body("pat-1"), headers=_signed(sandbox, url), timeout=10
    )
    discovery = requests.get(quietline.url + "/cds-services", timeout=10)

    assert response.status_code == 200
    assert len(response.json()["cards"]) == 1
    assert_no_empty(response.json())
    assert_no_empty(discovery.json())


@pytest.fixture
def replica(quietline: Quietline, database_url: str) -> Iterator[str]:
    """A second Quietline on the same database, keys and public URL; returns its own URL."""
    settings = make_settings(
        quietline.settings.instance_path,
        database_url,
        quietline.url,
        secret_key=quietline.settings.secret_key,
        token_key=quietline.settings.token_key,
    )
    app = create_app(settings)
    server = ServerThread("127.0.0.1", 0, app).start()
    yield f"http://localhost:{server.port}"
    server.stop()
    get_service(Database, app).dispose()


def test_a_replica_refuses_a_token_the_other_accepted(
    quietline: Quietline, sandbox: RunningSandbox, replica: str
) -> None:
    url = quietline.url + SERVICE_PATH
    headers = _signed(sandbox, url)
    replica_url = replica + SERVICE_PATH

    first = requests.post(url, json=hook_body(), headers=headers, timeout=10)
    second = requests.post(replica_url, json=hook_body(), headers=headers, timeout=10)

    assert first.status_code == 200
    assert second.status_code == 401
    assert "already used" in second.json()["message"]


def test_a_card_from_one_replica_is_accepted_as_feedback_by_the_other(
    quietline: Quietline, sandbox: RunningSandbox, replica: str
) -> None:
    _enroll(quietline, "pat-2")
    answer = _book(sandbox, "pat-2")
    (card,) = answer.cards
    feedback_path = SERVICE_PATH + "/feedback"
    body = {"feedback": [{"card": card.uuid, "outcome": "overridden",
                          "outcomeTimestamp": "2026-03-01T10:00:00Z"}]}  # fmt: skip

    response = requests.post(
        replica + feedback_path,
        json=body,
        headers=_signed(sandbox, quietline.url + feedback_path),
        timeout=10,
    )

    assert response.status_code == 200


def test_many_calls_at_once_are_all_answered_and_audited(
    quietline: Quietline, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    _enroll(quietline, "pat-2")
    url = quietline.url + SERVICE_PATH
    calls = [(hook_body(f"pat-{1 + n % 2}"), _signed(sandbox, url)) for n in range(64)]

    def send(call: tuple[dict[str, Any], dict[str, str]]) -> requests.Response:
        return requests.post(url, json=call[0], headers=call[1], timeout=30)

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(send, calls))

    assert [r.status_code for r in responses] == [200] * 64
    assert sorted(len(r.json()["cards"]) for r in responses) == [0] * 32 + [1] * 32
    assert len(audit_entries(quietline.app, "cds:hook:call")) == 64
    provider = get_service(KeyProvider, quietline.app)
    assert verify_chain(get_service(Database, quietline.app), provider, "sandbox").ok
