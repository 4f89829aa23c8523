# SPDX-License-Identifier: Apache-2.0
"""The EHR as a CDS client on Book and Change, against a real HTTP peer answering canned cards.

The peer plays an external CDS service; what is tested is the EHR's side of the contract:
discovery, the ``appointment-book`` request and its JWT, showing cards, feedback, and going on
when the service fails.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import TYPE_CHECKING
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.wrappers import Response

from smart_launch.sandbox.state import get_state
from tests.unit.smart_launch.sandbox.desk import Desk
from tests.unit.smart_launch.sandbox.desk import iframe_src

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from smart_launch.sandbox import RunningSandbox
    from tests.unit.smart_launch.conftest import Peer
    from tests.unit.smart_launch.sandbox.conftest import Flow

SERVICE = "/cds-services/quietline-appointment-book"
LINK_CONTEXT = '{"verify":{"appointment":"appt-2-next","action":"reschedule"}}'
CARD: dict[str, Any] = {
    "uuid": "7d9f3c1e-0a4b-4c47-9a51-1f1f6f0c2a10",
    "summary": "Verification required <before> changes & bookings",
    "indicator": "critical",
    "detail": "Ask for the code word.\n<b>not bold</b> **not markdown**",
    "source": {"label": "Quietline <CDS>"},
    "links": [
        {
            "label": "Verify the caller",
            "url": "http://localhost:8701/launch",
            "type": "smart",
            "appContext": LINK_CONTEXT,
        },
        {"label": "How verification works", "url": "https://q.example/guide", "type": "absolute"},
        {"label": "Not a web link", "url": "javascript:alert(1)", "type": "absolute"},
    ],
    "overrideReasons": [
        {"code": "in-person", "system": "urn:example:reasons", "display": "Client is here"}
    ],
}


class CdsPeer:
    """Configures ``peer`` as a CDS service and points the sandbox at it."""

    def __init__(self, peer: Peer, ehr: RunningSandbox) -> None:
        self.peer = peer
        self.ehr = ehr
        self.cards: list[dict[str, Any]] = []
        peer.json(
            "/cds-services",
            {
                "services": [
                    {"hook": "patient-view", "id": "other", "description": "Not this one"},
                    {
                        "hook": "appointment-book",
                        "id": "quietline-appointment-book",
                        "description": "Verification",
                        "prefetch": {
                            "patient": "Patient/{{context.patientId}}",
                            "user": "{{context.userId}}",
                            "practitioner": "Practitioner/{{userPractitionerId}}",
                            "appointments": "Appointment?patient={{context.patientId}}",
                        },
                    },
                ]
            },
        )
        peer.route("POST", SERVICE, lambda _r: self._answer())
        peer.json(SERVICE + "/feedback", {}, method="POST")
        ehr.config.cds_services = (peer.url + "/cds-services/",)

    def _answer(self) -> Response:
        return Response(json.dumps({"cards": self.cards}), content_type="application/json")

    def hook_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.get_data()) for r in self.peer.requests_to(SERVICE)]

    def feedback(self) -> list[dict[str, Any]]:
        return [json.loads(r.get_data()) for r in self.peer.requests_to(SERVICE + "/feedback")]


@pytest.fixture
def cds(peer: Peer, sandbox: RunningSandbox) -> CdsPeer:
    return CdsPeer(peer, sandbox)


@pytest.fixture
def desk(sandbox: RunningSandbox, http: requests.Session) -> Desk:
    return Desk(sandbox, http)


def _version(sandbox: RunningSandbox, appointment: str) -> int:
    stored = get_state(sandbox.app).store.read("Appointment", appointment)
    assert stored is not None
    return stored.version


def _claims(request: Request, keys: KeySet) -> tuple[dict[str, Any], dict[str, Any]]:
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    decoded = jwt.decode(token, keys, algorithms=["ES384"])
    return dict(decoded.header), dict(decoded.claims)


def test_no_cards_writes_at_once_after_a_well_formed_hook_call(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox
) -> None:
    response = desk.move("appt-2-next", "2099-02-03T10:00")
    assert response.status_code == 303
    assert _version(sandbox, "appt-2-next") == 2

    (body,) = cds.hook_bodies()
    assert body["hook"] == "appointment-book"
    assert uuid.UUID(body["hookInstance"]).version == 4
    assert body["fhirServer"] == sandbox.fhir_base
    authorization = body["fhirAuthorization"]
    assert authorization["token_type"] == "Bearer"
    assert authorization["scope"] == "patient/Patient.r"
    assert authorization["subject"] == "quietline"
    assert authorization["patient"] == "pat-2"
    assert 0 < authorization["expires_in"] <= 300
    context = body["context"]
    assert context["userId"] == "Practitioner/frontdesk"
    assert context["patientId"] == "pat-2"
    bundle = context["appointments"]
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    (entry,) = bundle["entry"]
    assert entry["resource"]["id"] == "appt-2-next"
    assert entry["resource"]["status"] == "proposed"
    assert entry["resource"]["start"] == "2099-02-03T10:00:00+00:00"
    prefetch = body["prefetch"]
    assert prefetch["patient"]["resourceType"] == "Patient"
    assert prefetch["patient"]["id"] == "pat-2"
    assert prefetch["user"]["id"] == prefetch["practitioner"]["id"] == "frontdesk"
    assert "appointments" not in prefetch  # a search is not prefetched: the key is left out
    assert sandbox.cds_log == [
        {"service": cds.peer.url + "/cds-services", "call": "discovery", "status": 200, "cards": 0},
        {"service": cds.peer.url + SERVICE, "call": "hook", "status": 200, "cards": 0},
    ]


def test_every_call_carries_a_verifiable_es384_jwt_for_its_url(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox
) -> None:
    desk.book("pat-4", "2099-02-03T10:00")
    desk.book("pat-5", "2099-02-03T11:00")
    keys = KeySet.import_key_set(requests.get(sandbox.url + "/cds/jwks.json", timeout=5).json())
    jtis = set()
    for path in ("/cds-services", SERVICE):
        for request in cds.peer.requests_to(path):
            header, claims = _claims(request, keys)
            assert header["alg"] == "ES384"
            assert header["typ"] == "JWT"
            assert header["jku"] == sandbox.url + "/cds/jwks.json"
            assert claims["iss"] == sandbox.url
            assert claims["aud"] == cds.peer.url + path
            assert claims["exp"] - claims["iat"] == 300
            jtis.add(claims["jti"])
    assert len(jtis) == 4


def test_the_fhir_authorization_reads_only_that_patient(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox
) -> None:
    desk.book("pat-2", "2099-02-03T10:00")
    token = cds.hook_bodies()[0]["fhirAuthorization"]["access_token"]

    def get(path: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.get(sandbox.fhir_base + path, headers=headers, timeout=5).status_code

    assert get("/Patient/pat-2") == 200
    assert get("/Patient/pat-1") == 403
    assert get("/Patient?_id=pat-2") == 403
    assert get("/Appointment?patient=pat-2") == 403


def test_cards_are_shown_exactly_as_received_and_nothing_is_written(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox
) -> None:
    cds.cards = [CARD]
    page = desk.move("appt-2-next", "2099-02-03T10:00")
    assert page.status_code == 200
    assert _version(sandbox, "appt-2-next") == 1
    shown = (
        "Verification required &lt;before&gt; changes &amp; bookings",
        "Ask for the code word.\n&lt;b&gt;not bold&lt;/b&gt; **not markdown**",
        '<p class="cds-indicator">Critical</p>',
        'class="cds-card cds-critical"',
        "Quietline &lt;CDS&gt;",
        '<button type="submit" class="cds-smart-link">Verify the caller</button>',
        'href="https://q.example/guide"',
        "Not a web link",
        '<option value="0.0.0">Client is here</option>',
        "Change anyway",
    )
    for fragment in shown:
        assert fragment in page.text
    for fragment in ("<b>not bold</b>", 'href="javascript:', "Decision support did not answer"):
        assert fragment not in page.text
    assert sandbox.cds_log[-1]["cards"] == 1


def test_change_anyway_sends_overridden_feedback_then_writes(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox
) -> None:
    cds.cards = [CARD]
    page = desk.move("appt-2-next", "2099-02-03T10:00")
    response = desk.proceed(page, reason="0.0.0", comment="Seen at the desk")
    assert response.status_code == 303
    assert _version(sandbox, "appt-2-next") == 2
    (feedback,) = cds.feedback()
    (item,) = feedback["feedback"]
    assert item["card"] == CARD["uuid"]
    assert item["outcome"] == "overridden"
    assert item["overrideReason"] == {
        "reason": {
            "code": "in-person",
            "system": "urn:example:reasons",
            "display": "Client is here",
        },
        "userComment": "Seen at the desk",
    }
    assert item["outcomeTimestamp"].endswith("+00:00")
    keys = KeySet.import_key_set(get_state(sandbox.app).cds_key.jwks())
    _, claims = _claims(cds.peer.requests_to(SERVICE + "/feedback")[0], keys)
    assert claims["aud"] == cds.peer.url + SERVICE + "/feedback"
    # The decision is used up: a second submit writes nothing more.
    again = desk.post("/ehr/schedule/proceed", key="used", reason="")
    assert again.status_code == 409
    assert _version(sandbox, "appt-2-next") == 2


def test_book_anyway_without_reasons_sends_only_the_comment(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox
) -> None:
    cds.cards = [{key: value for key, value in CARD.items() if key != "overrideReasons"}]
    page = desk.book("pat-2", "2099-02-03T10:00")
    assert "Book anyway" in page.text
    assert 'id="override-reason"' not in page.text
    assert "Reason (optional)" in page.text
    count = len(get_state(sandbox.app).store.current("Appointment"))
    assert desk.proceed(page, comment="Client asked").status_code == 303
    assert len(get_state(sandbox.app).store.current("Appointment")) == count + 1
    (item,) = cds.feedback()[0]["feedback"]
    assert item["overrideReason"] == {"userComment": "Client asked"}


def test_the_smart_link_sends_accepted_and_launches_with_its_app_context(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox, flow: Flow
) -> None:
    cds.cards = [CARD]
    page = desk.move("appt-2-next", "2099-02-03T10:00")
    opened = desk.open_link(page)
    assert opened.status_code == 200
    (item,) = cds.feedback()[0]["feedback"]
    assert (item["card"], item["outcome"]) == (CARD["uuid"], "accepted")
    launch = flow.query_of(iframe_src(opened))["launch"]
    body = flow.token(launch=launch)
    assert body["appContext"] == LINK_CONTEXT
    assert body["patient"] == "pat-2"
    # Nothing was written in the EHR, and the EHR-side decision is gone.
    assert _version(sandbox, "appt-2-next") == 1
    assert desk.proceed(page).status_code == 409


@pytest.mark.parametrize("link", ["0.0.1", "0.0.2", "0.1.0", "9.0.0", "x"])
def test_only_a_smart_link_of_a_shown_card_can_be_opened(
    cds: CdsPeer, desk: Desk, link: str
) -> None:
    cds.cards = [CARD]
    page = desk.book("pat-2", "2099-02-03T10:00")
    assert desk.open_link(page, link=link).status_code == 400
    assert cds.feedback() == []


def test_a_card_without_uuid_gets_no_feedback(cds: CdsPeer, desk: Desk) -> None:
    cds.cards = [{key: value for key, value in CARD.items() if key != "uuid"}]
    page = desk.book("pat-2", "2099-02-03T10:00")
    assert desk.proceed(page).status_code == 303
    assert cds.feedback() == []


def test_a_change_made_meanwhile_is_not_overwritten(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox
) -> None:
    cds.cards = [CARD]
    page = desk.move("appt-2-next", "2099-02-03T10:00")
    other = Desk(sandbox, requests.Session())  # another front-desk screen
    cds.cards = []
    assert other.cancel("appt-2-next").status_code == 303
    response = desk.proceed(page)
    assert response.status_code == 409
    assert "changed meanwhile" in response.text
    stored = get_state(sandbox.app).store.read("Appointment", "appt-2-next")
    assert stored is not None
    assert (stored.version, stored.body["status"]) == (2, "cancelled")


def _hang(release: threading.Event) -> Any:
    def answer(_request: Request) -> Response:
        release.wait(5)
        return Response('{"cards": []}', content_type="application/json")

    return answer


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        (lambda p, _e: p.json("/cds-services", {"error": "x"}, status=500), 500),
        (lambda p, _e: p.json(SERVICE, {}, status=401, method="POST"), 401),
        (lambda p, _e: p.text(SERVICE, "<html>", method="POST"), "invalid"),
        (lambda p, _e: p.json(SERVICE, {"cards": [{"summary": "x"}]}, method="POST"), "invalid"),
        (lambda p, _e: p.json("/cds-services", {"services": []}), "no-service"),
        (lambda p, e: p.route("POST", SERVICE, _hang(e)), "timeout"),
    ],
    ids=["discovery-500", "hook-401", "not-json", "bad-card", "no-service", "timeout"],
)
def test_a_service_that_does_not_answer_never_stops_the_ehr(
    cds: CdsPeer, desk: Desk, sandbox: RunningSandbox, setup: Any, status: int | str
) -> None:
    release = threading.Event()
    setup(cds.peer, release)
    try:
        page = desk.move("appt-2-next", "2099-02-03T10:00")
    finally:
        release.set()
    assert page.status_code == 200
    assert "Decision support did not answer" in page.text
    assert "Change anyway" in page.text
    assert sandbox.cds_log[-1]["status"] == status
    assert desk.proceed(page).status_code == 303
    assert _version(sandbox, "appt-2-next") == 2
    assert cds.feedback() == []


def test_an_unreachable_service_never_stops_the_ehr(
    desk: Desk, sandbox: RunningSandbox, closed_url: str
) -> None:
    sandbox.config.cds_services = (closed_url + "/cds-services",)
    page = desk.book("pat-1", "2099-02-03T10:00")
    assert "Decision support did not answer" in page.text
    assert sandbox.cds_log == [
        {
            "service": closed_url + "/cds-services",
            "call": "discovery",
            "status": "unreachable",
            "cards": 0,
        }
    ]
    assert desk.proceed(page).status_code == 303
