# SPDX-License-Identifier: Apache-2.0
"""A small cookie-aware HTTP walker that follows redirects across Quietline and the sandbox.

``requests`` will not send a ``Secure`` cookie over plain http, while browsers treat
``http://localhost`` as a secure context; the walker keeps cookies per host itself so the
``__Host-`` session cookie travels exactly as it does in Chromium.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

_IFRAME = re.compile(r'<iframe[^>]*\bid="app-frame"[^>]*>', re.DOTALL)
_SRC = re.compile(r'\bsrc="([^"]+)"')


@dataclass
class Walker:
    http: requests.Session = field(default_factory=requests.Session)
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    set_cookie_headers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http.trust_env = False

    def _send(self, method: str, url: str, data: dict[str, str] | None) -> requests.Response:
        host = urlsplit(url).netloc
        jar = self.cookies.get(host, {})
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        self.visited.append(url)
        response = self.http.request(
            method, url, data=data, headers=headers, allow_redirects=False, timeout=15
        )
        for header in response.raw.headers.getlist("Set-Cookie"):
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            self.cookies.setdefault(host, {})[name.strip()] = value
        return response

    def go(
        self, method: str, url: str, data: dict[str, str] | None = None, *, follow: bool = True
    ) -> requests.Response:
        response = self._send(method, url, data)
        hops = 0
        while follow and response.is_redirect and hops < 10:
            url = urljoin(url, response.headers["Location"])
            response = self._send("GET", url, None)
            hops += 1
        return response

    def get(self, url: str, *, follow: bool = True) -> requests.Response:
        return self.go("GET", url, follow=follow)

    def post(self, url: str, data: dict[str, str], *, follow: bool = True) -> requests.Response:
        return self.go("POST", url, data, follow=follow)

    def quietline_cookie(self, quietline_url: str) -> str | None:
        return self.cookies.get(urlsplit(quietline_url).netloc, {}).get("__Host-quietline")


def iframe_src(chart_html: str) -> str:
    """The ``src`` of the chart page's app iframe."""
    tag = _IFRAME.search(chart_html)
    assert tag is not None, "chart page has no app iframe"
    src = _SRC.search(tag.group(0))
    assert src is not None
    return html.unescape(src.group(1))


def ehr_launch_url(walker: Walker, ehr_root: str, patient: str, user: str) -> str:
    """Open the sandbox chart page and return the app's launch URL from its iframe."""
    chart = walker.get(f"{ehr_root}/ehr/launch?patient={patient}&user={user}")
    assert chart.status_code == 200, chart.text[:500]
    return iframe_src(chart.text)
