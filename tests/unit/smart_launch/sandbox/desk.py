# SPDX-License-Identifier: Apache-2.0
"""Drives the sandbox's scheduling page over HTTP the way its forms do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

    from smart_launch.sandbox import RunningSandbox

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_KEY = re.compile(r'name="key" value="([^"]+)"')
_IFRAME = re.compile(r'<iframe id="app-frame" title="Quietline" src="([^"]+)"')


@dataclass
class Desk:
    """One staff member at the schedule; keeps the session's form token."""

    ehr: RunningSandbox
    http: requests.Session
    user: str = "frontdesk"
    csrf: str = ""

    def open(self, **params: str) -> requests.Response:
        response = self.http.get(
            self.ehr.url + "/ehr/schedule", params={"user": self.user, **params}
        )
        self._remember(response)
        return response

    def _remember(self, response: requests.Response) -> None:
        match = _CSRF.search(response.text)
        if match is not None:
            self.csrf = match.group(1)

    def post(self, path: str, **fields: str) -> requests.Response:
        if not self.csrf:
            self.open()
        data = {"csrf_token": self.csrf, "user": self.user, **fields}
        response = self.http.post(self.ehr.url + path, data=data, allow_redirects=False)
        self._remember(response)
        return response

    def book(self, patient: str, start: str) -> requests.Response:
        return self.post("/ehr/schedule/book", patient=patient, start=start)

    def move(self, appointment: str, start: str) -> requests.Response:
        return self.post(
            "/ehr/schedule/change", appointment=appointment, change="move", start=start
        )

    def cancel(self, appointment: str) -> requests.Response:
        return self.post("/ehr/schedule/change", appointment=appointment, change="cancel")

    def proceed(self, page: requests.Response, **fields: str) -> requests.Response:
        """ "Book anyway" / "Change anyway" on a page showing decision support."""
        return self.post("/ehr/schedule/proceed", key=pending_key(page), **fields)

    def open_link(self, page: requests.Response, link: str = "0.0.0") -> requests.Response:
        """A card's SMART link button."""
        return self.post("/ehr/schedule/open", key=pending_key(page), link=link)


def pending_key(page: requests.Response) -> str:
    match = _KEY.search(page.text)
    assert match is not None, "the page shows no pending decision"
    return match.group(1)


def iframe_src(page: requests.Response) -> str:
    match = _IFRAME.search(page.text)
    assert match is not None, "the page has no app iframe"
    return unescape(match.group(1))
