# SPDX-License-Identifier: Apache-2.0
"""Code-word verification end to end over real HTTP: enrollment with the client, a caller with
the wrong word paused and the clinician alerted (in Quietline and in the EHR), the pause
cleared in person, the right word moving the appointment, the Provenance in the EHR."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from plugin.audit.verify import verify_chain
from plugin.codeword.alerts import COMMUNICATION_TEXT
from plugin.codeword.alerts import NOTICE_TEXT
from plugin.codeword.errors import NotThisClient
from plugin.crypto.interfaces import KeyProvider
from plugin.registry import get_service
from plugin.store import Base
from plugin.store import Database
from plugin.vault.models import Notice
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import csrf
from tests.support.forms import hidden_fields
from tests.support.servers import Quietline
from tests.unit.plugin.codeword.ui_support import NEXT
from tests.unit.plugin.codeword.ui_support import WORD
from tests.unit.plugin.codeword.ui_support import Person
from tests.unit.plugin.codeword.ui_support import appointment
from tests.unit.plugin.codeword.ui_support import appointment_puts
from tests.unit.plugin.codeword.ui_support import audit_actions
from tests.unit.plugin.codeword.ui_support import codewords
from tests.unit.plugin.codeword.ui_support import communications
from tests.unit.plugin.codeword.ui_support import deliver
from tests.unit.plugin.codeword.ui_support import provenances
from tests.unit.plugin.codeword.ui_support import text_of

OTHERS = "appt-2-next"
"""Client 2's (``pat-2``) next appointment."""
BANNED = ("stalk", "abuse", "violen", "victim", "harass", "danger", "safety", "threat")


def _all_values(db: Database) -> Iterator[str]:
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                yield from (str(value) for value in row)


def test_the_whole_story(
    quietline: Quietline, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    therapist, desk = Person(sandbox, "therapist"), Person(sandbox, "frontdesk")
    therapist.launch()
    desk.launch()

    # The therapist sets the word up with the client in the room.
    assert therapist.enroll().url.endswith("?done=enrolled")

    # A caller with the wrong word: two tries, then changes pause and the clinician is told.
    answers = [desk.verify(word) for word in ("harbour copper", "lantern copper", "guess three")]
    assert [a.status_code for a in answers] == [400, 400, 423]
    assert "paused until" in text_of(answers[-1].text, "outcome")
    assert appointment_puts(sandbox) == []

    assert deliver(quietline) == 3
    sent = communications(sandbox)
    assert len(sent) == 3
    for message in sent:
        assert message["recipient"] == [{"reference": "Practitioner/therapist"}]
        assert message["subject"] == {"reference": "Patient/pat-1"}
        assert message["payload"][0]["contentString"] in COMMUNICATION_TEXT.values()
        assert not any(word in str(message).lower() for word in BANNED)
    assert {m["payload"][0]["contentString"] for m in sent} == {
        COMMUNICATION_TEXT["verification-failed"],
        COMMUNICATION_TEXT["verification-locked"],
    }

    home = therapist.launch().text
    assert NOTICE_TEXT["verification-locked"] in home
    assert "This concerns the client whose chart is open." in home

    # The client comes in; the therapist clears the pause with them present.
    page = therapist.get("/codeword/enroll")
    cleared = therapist.post("/codeword/unlock", {"csrf": csrf(page.text), "present": "yes"})
    assert cleared.url.endswith("?done=unlocked")

    # Next call: the right word, the new time, the EHR updated with If-Match.
    granted = desk.verify(WORD)
    assert granted.status_code == 200
    moved = desk.submit(granted.text, "/codeword/change", date="2031-05-06", time="09:30")
    assert moved.url.endswith("?done=reschedule")
    (put,) = appointment_puts(sandbox)
    assert put.headers["If-Match"] == 'W/"1"'
    after = appointment(sandbox)
    assert after["start"].startswith("2031-05-06T09:30")

    assert deliver(quietline) == 1
    (provenance,) = provenances(sandbox)
    assert provenance["target"] == [
        {"reference": f"Appointment/{NEXT}/_history/{after['meta']['versionId']}"}
    ]
    assert provenance["agent"][0]["who"] == {"reference": "Practitioner/frontdesk"}

    # The trail: every step audited, the chain intact, and the word nowhere.
    actions = [action for action, _ in audit_actions(quietline)]
    for expected in (
        "codeword:word:enroll",
        "codeword:word:verify",
        "codeword:lockout:clear",
        "codeword:appointment:write",
    ):
        assert expected in actions
    db = get_service(Database, quietline.app)
    provider = get_service(KeyProvider, quietline.app)
    assert verify_chain(db, provider, "sandbox").ok
    assert not any(WORD in value for value in _all_values(db))
    assert WORD not in caplog.text
    for person in (therapist, desk):
        for url in person.walker.visited:
            if url.startswith(quietline.url):
                assert NEXT not in url
                assert "pat-1" not in url
    tokens = re.findall(r'name="token" value="([^"]+)"', granted.text)
    assert tokens
    assert not any(tokens[0] in value for value in _all_values(db))
    assert tokens[0] not in caplog.text


def _notices(quietline: Quietline) -> list[tuple[str, str, str | None]]:
    with get_service(Database, quietline.app).session() as session:
        rows = session.scalars(select(Notice).order_by(Notice.created_at)).all()
        return [(row.recipient, row.kind, row.subject) for row in rows]


def test_one_clients_word_never_changes_another_clients_appointment(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    """Client 1's word, given in client 1's launch with client 2's appointment chosen, then the
    resulting form posted in client 2's launch: nothing is written and both clinicians hear."""
    therapist_1, therapist_2 = Person(sandbox, "therapist"), Person(sandbox, "therapist", "pat-2")
    therapist_1.launch()
    therapist_2.launch()
    assert therapist_1.enroll().url.endswith("?done=enrolled")
    assert therapist_2.enroll("walnut ferry quartz").url.endswith("?done=enrolled")
    desk_1, desk_2 = Person(sandbox, "frontdesk"), Person(sandbox, "frontdesk", "pat-2")
    desk_1.launch()
    desk_2.launch()
    before = appointment(sandbox, OTHERS)

    # Step 1: client 1's word with client 2's appointment chosen, in client 1's launch.
    refused = desk_1.verify(WORD, choice=f"cancel:{OTHERS}")
    assert refused.status_code == 409
    assert text_of(refused.text, "outcome") == NotThisClient.description
    assert 'name="token"' not in refused.text

    # Step 2: a grant client 1 really got (for client 1's own appointment), posted in client
    # 2's launch for client 2's appointment, and for client 1's appointment.
    granted = desk_1.verify(WORD, choice=f"cancel:{NEXT}")
    fields = hidden_fields(granted.text)
    assert fields["appointment"] == NEXT
    page = desk_2.get("/codeword/")
    crossed = [
        desk_2.post(
            "/codeword/change",
            {**fields, "csrf": csrf(page.text), "appointment": target, "reason": "pat"},
        )
        for target in (OTHERS, NEXT)
    ]
    for answer in crossed:
        assert answer.status_code == 409
        assert "Nothing was changed." in text_of(answer.text, "outcome")

    assert appointment_puts(sandbox) == []
    assert appointment(sandbox, OTHERS) == before
    assert appointment(sandbox)["status"] == "booked"
    assert provenances(sandbox) == []

    denied = [entry for entry in audit_actions(quietline) if entry[1] == "denied"]
    assert ("codeword:word:verify", "denied") in denied
    assert ("codeword:appointment:write", "denied") in denied
    service = codewords(quietline)
    client_1, client_2 = (service.pseudonym("sandbox", p) for p in ("pat-1", "pat-2"))
    mismatch = [n for n in _notices(quietline) if n[1] == "appointment-not-this-client"]
    assert ("Practitioner/therapist", "appointment-not-this-client", client_1) in mismatch
    assert ("Practitioner/therapist", "appointment-not-this-client", client_2) in mismatch

    deliver(quietline)
    told = [m for m in communications(sandbox) if m["subject"] == {"reference": "Patient/pat-2"}]
    assert told
    assert {m["payload"][0]["contentString"] for m in told} == {
        COMMUNICATION_TEXT["appointment-not-this-client"]
    }
    for message in communications(sandbox):
        assert not any(word in str(message).lower() for word in BANNED)
    assert appointment_puts(sandbox) == []
