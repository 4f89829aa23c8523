# SPDX-License-Identifier: Apache-2.0
"""A small cookie-aware HTTP walker that follows redirects across Quietline and the sandbox.

``requests`` will not send a ``Secure`` cookie over plain http, while browsers treat
``http://localhost`` as a secure context; the walker keeps cookies per host itself so the
``__Host-`` session cookie travels exactly as it does in Chromium.  Tests and benchmarks use it
to click through an EHR launch the way a browser would.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

__all__ = ["Walker", "ehr_launch_url", "iframe_src"]

_IFRAME = re.compile(r'<iframe[^>]*\bid="app-frame"[^>]*>', re.DOTALL)
_SRC = re.compile(r'\bsrc="([^"]+)"')
_MAX_HOPS = 10


@dataclass
class Walker:
    """Follows redirects the way a browser does, keeping each site's cookies apart.

    Every URL requested is kept in ``visited`` and every ``Set-Cookie`` header received in
    ``set_cookie_headers``, so callers can check what travelled over the wire.
    """

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
            self.cookies.setdefault(host, {})[name.strip()] = rest.split(";", 1)[0]
        return response

    def go(
        self, method: str, url: str, data: dict[str, str] | None = None, *, follow: bool = True
    ) -> requests.Response:
        """Send one request and, with ``follow``, up to ten redirects after it as GETs."""
        response = self._send(method, url, data)
        hops = 0
        while follow and response.is_redirect and hops < _MAX_HOPS:
            url = urljoin(url, response.headers["Location"])
            response = self._send("GET", url, None)
            hops += 1
        return response

    def get(self, url: str, *, follow: bool = True) -> requests.Response:
        """GET ``url``, following redirects unless ``follow`` is false."""
        return self.go("GET", url, follow=follow)

    def post(self, url: str, data: dict[str, str], *, follow: bool = True) -> requests.Response:
        """POST the form ``data`` to ``url``, following redirects unless ``follow`` is false."""
        return self.go("POST", url, data, follow=follow)

    def quietline_cookie(self, quietline_url: str) -> str | None:
        """The value of Quietline's session cookie for the host of ``quietline_url``, if set."""
        return self.cookies.get(urlsplit(quietline_url).netloc, {}).get("__Host-quietline")


def iframe_src(chart_html: str) -> str:
    """The ``src`` of the chart page's app iframe.

    Raises :class:`RuntimeError` when the page has no app iframe.
    """
    tag = _IFRAME.search(chart_html)
    src = _SRC.search(tag.group(0)) if tag is not None else None
    if src is None:
        raise RuntimeError("the chart page has no app iframe")
    return html.unescape(src.group(1))


def ehr_launch_url(walker: Walker, ehr_root: str, patient: str, user: str) -> str:
    """Open the sandbox chart page and return the app's launch URL from its iframe.

    Raises :class:`RuntimeError` when the chart page does not answer 200.
    """
    chart = walker.get(f"{ehr_root}/ehr/launch?patient={patient}&user={user}")
    if chart.status_code != 200:
        msg = f"the chart page answered HTTP {chart.status_code}: {chart.text[:500]}"
        raise RuntimeError(msg)
    return iframe_src(chart.text)
