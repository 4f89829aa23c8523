# SPDX-License-Identifier: Apache-2.0
"""Helpers of the code-word page tests: people at the sandbox EHR using Quietline over HTTP.

Each :class:`Person` is a browser of their own (a :class:`Walker` with its own cookies) who
launched Quietline from the sandbox chart of ``pat-1`` (Avery Lindqvist, born 1988-04-12).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlencode

import requests
from sqlalchemy import select

from plugin.audit.models import AuditEntry
from plugin.codeword.services import CodewordService
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from plugin.store import Database
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.support.forms import csrf
from tests.support.forms import hidden_fields
from tests.support.servers import Quietline
from tests.support.walker import Walker
from tests.support.walker import iframe_src

WORD = "copper lantern harbour"
"""A word the rules accept for pat-1."""
PATIENT = "pat-1"
NEXT = "appt-1-next"
LATER = "appt-1-later"


@dataclass
class Person:
    """A staff member in their own browser, launched into Quietline for one client."""

    sandbox: RunningSandbox
    user: str
    patient: str = PATIENT
    walker: Walker = field(default_factory=Walker)
    base: str = ""
    token: str = ""

    def launch(self, app_context: str | None = None) -> requests.Response:
        query = {"patient": self.patient, "user": self.user}
        if app_context is not None:
            query["app_context"] = app_context
        chart = self.walker.get(f"{self.sandbox.url}/ehr/launch?{urlencode(query)}")
        assert chart.status_code == 200, chart.text[:300]
        home = self.walker.get(iframe_src(chart.text))
        assert home.status_code == 200, home.text[:300]
        self.base = "/".join(home.url.split("/")[:5])  # http://host:port/l/<handle>
        return home

    def get(self, path: str) -> requests.Response:
        return self.walker.get(f"{self.base}{path}")

    def post(self, path: str, data: dict[str, str], *, follow: bool = True) -> requests.Response:
        return self.walker.post(f"{self.base}{path}", data, follow=follow)

    def form_token(self) -> str:
        """The form token of this browser (any page's form carries the same one)."""
        return csrf(self.get("/").text)

    def submit(self, page: str, path: str, **fields: str) -> requests.Response:
        """Post the form at ``path`` with the page's hidden fields (CSRF, token) and ``fields``."""
        return self.post(path, {**hidden_fields(page), **fields})

    # -- the clinician's enrollment page

    def enroll(self, word: str = WORD, **extra: str) -> requests.Response:
        page = self.get("/codeword/enroll")
        assert page.status_code == 200, page.text[:300]
        data = {"csrf": csrf(page.text), "word": word, "confirm": word, "present": "yes"}
        return self.post("/codeword/enroll", {**data, **extra})

    # -- the front desk's verification page

    def verify(self, word: str, choice: str = f"reschedule:{NEXT}") -> requests.Response:
        """Type ``word`` for ``choice`` on the verification page (the form token is the one
        the page had when it last showed the form: a paused client's page shows none)."""
        page = self.get("/codeword/")
        assert page.status_code == 200, page.text[:300]
        if 'name="csrf"' in page.text:
            self.token = csrf(page.text)
        return self.post("/codeword/verify", {"csrf": self.token, "choice": choice, "word": word})


def text_of(page: str, element_id: str) -> str:
    """The text of the element with ``id`` (tags stripped, whitespace collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.DOTALL)
    assert match is not None, f"no #{element_id} on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


def has_id(page: str, element_id: str) -> bool:
    return f'id="{element_id}"' in page


def appointment(sandbox: RunningSandbox, appointment_id: str = NEXT) -> dict[str, Any]:
    stored = get_state(sandbox.app).store.read("Appointment", appointment_id)
    assert stored is not None
    return dict(stored.body)


def provenances(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [dict(stored.body) for stored in get_state(sandbox.app).store.current("Provenance")]


def communications(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [dict(s.body) for s in get_state(sandbox.app).store.current("Communication")]


def appointment_puts(sandbox: RunningSandbox) -> list[Any]:
    return sandbox.request_log.matching("/fhir/Appointment/", "PUT")


def deliver(quietline: Quietline) -> int:
    return get_service(OutboxWorker, quietline.app).run_once()


def codewords(quietline: Quietline) -> CodewordService:
    return get_service(CodewordService, quietline.app)


def audit_actions(quietline: Quietline, prefix: str = "codeword:") -> list[tuple[str, str]]:
    """``(action, outcome)`` of the audit entries whose action starts with ``prefix``."""
    with get_service(Database, quietline.app).session() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.seq)
        ).all()
    return [(action, outcome) for action, outcome in rows if action.startswith(prefix)]
