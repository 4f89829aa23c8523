# SPDX-License-Identifier: Apache-2.0
"""The home page's "For your attention" list: verification alerts for the signed-in clinician
and, for admins, the practice's; over real HTTP with the sandbox EHR."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from plugin.codeword.alerts import NOTICE_TEXT
from plugin.codeword.interfaces import AlertRecipient
from plugin.codeword.interfaces import VerificationPolicy
from plugin.registry import get_service
from plugin.store import Database
from plugin.vault.models import Notice
from smart_launch.sandbox.server import RunningSandbox
from tests.support.servers import Quietline
from tests.unit.plugin.codeword.ui_support import Person
from tests.unit.plugin.codeword.ui_support import codewords
from tests.unit.plugin.codeword.ui_support import has_id
from tests.unit.plugin.codeword.ui_support import text_of


def _failed_attempt(sandbox: RunningSandbox) -> None:
    therapist = Person(sandbox, "therapist")
    therapist.launch()
    therapist.enroll()
    desk = Person(sandbox, "frontdesk")
    desk.launch()
    assert desk.verify("not the right word").status_code == 400


def test_the_treating_clinician_sees_the_alert_once(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    _failed_attempt(sandbox)
    therapist = Person(sandbox, "therapist")

    home = therapist.launch().text
    again = therapist.launch().text

    assert text_of(home, "attention-heading") == "For your attention"
    assert NOTICE_TEXT["verification-failed"] in home
    assert "This concerns the client whose chart is open." in home
    assert not has_id(again, "attention-heading")


def test_another_clients_chart_does_not_name_the_client(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    _failed_attempt(sandbox)

    home = Person(sandbox, "therapist", patient="pat-2").launch().text

    assert NOTICE_TEXT["verification-failed"] in home
    assert "This concerns the client whose chart is open." not in home
    assert "The message in your EHR inbox names the client." in home


def test_admins_see_the_practice_alerts_when_the_protocol_says_so(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    codewords(quietline).policies.save(
        "sandbox",
        VerificationPolicy(alert=frozenset({AlertRecipient.CLINICIAN, AlertRecipient.ADMIN})),
        actor="Practitioner/admin",
    )
    _failed_attempt(sandbox)

    admin = Person(sandbox, "admin", patient="pat-2").launch().text
    desk = Person(sandbox, "frontdesk").launch().text

    assert NOTICE_TEXT["verification-failed"] in admin
    assert "The audit log lists it under the client's pseudonym." in admin
    assert not has_id(desk, "attention-heading")


def test_other_notices_are_left_for_their_own_pages(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    db = get_service(Database, quietline.app)
    with db.session() as session:
        session.add(
            Notice(id=str(uuid.uuid4()), tenant_id="sandbox", recipient="Practitioner/therapist",
                   kind="break-glass", record_id=str(uuid.uuid4()), actor="Practitioner/admin",
                   created_at=datetime.now(UTC))
        )  # fmt: skip

    home = Person(sandbox, "therapist").launch().text

    assert not has_id(home, "attention-heading")
    with db.session() as session:
        (notice,) = session.scalars(select(Notice))
        assert notice.read_at is None
