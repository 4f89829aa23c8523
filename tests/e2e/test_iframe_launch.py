# SPDX-License-Identifier: Apache-2.0
"""The EHR launch in a real browser: Quietline (localhost) inside the EHR's (127.0.0.1) iframe.

Chromium runs with third-party cookies blocked.  The first test proves that block is in force
(an ordinary cross-site cookie in an iframe is dropped, a partitioned one is kept), so the launch
tests below cannot pass by accident on a permissive browser.  See docs/security.md.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from plugin.crypto import lookup_hash
from plugin.launch.store import SqlLaunchStore
from plugin.registry import get_service
from plugin.server import ServerThread
from smart_launch.sandbox.seed import USERS
from smart_launch.sandbox.server import RunningSandbox
from tests.e2e.browser import SCREENSHOTS
from tests.e2e.browser import Traffic
from tests.e2e.browser import csp_violations
from tests.e2e.browser import launch_handle
from tests.e2e.browser import quietline_cookie
from tests.support.servers import Quietline

pytestmark = pytest.mark.browser

PLAIN = "plain3p"
PARTITIONED = "__Host-chips3p"


# -- the browser really blocks third-party cookies ---------------------------------------------


def _cookie_app(request: Request) -> Response:
    """On ``localhost``: ``/set`` sets two cross-site cookies, ``/show`` lists what came back."""
    if request.path == "/set":
        response = Response(status=302, headers={"Location": "/show"})
        response.headers.add("Set-Cookie", f"{PLAIN}=1; Path=/; Secure; SameSite=None")
        response.headers.add(
            "Set-Cookie", f"{PARTITIONED}=1; Path=/; Secure; SameSite=None; Partitioned"
        )
        return response
    names = " ".join(sorted(request.cookies)) or "none"
    return Response(
        f'<!doctype html><title>cookies</title><p id="received">{html.escape(names)}</p>',
        mimetype="text/html",
    )


def _top_level_app(target: str) -> Any:
    """On ``127.0.0.1``: a page embedding ``target`` in an iframe."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        body = f'<!doctype html><title>top</title><iframe id="probe" src="{target}"></iframe>'
        return Response(body, mimetype="text/html")(environ, start_response)

    return app


@pytest.fixture
def cookie_sites() -> Iterator[tuple[str, str]]:
    """``(top-level URL on 127.0.0.1, cookie-setting URL on localhost)``, two different sites."""
    embedded = ServerThread("127.0.0.1", 0, Request.application(_cookie_app)).start()
    embedded_url = f"http://localhost:{embedded.port}"
    top = ServerThread("127.0.0.1", 0, _top_level_app(embedded_url + "/set")).start()
    try:
        yield f"http://127.0.0.1:{top.port}/", embedded_url
    finally:
        top.stop()
        embedded.stop()


def test_browser_drops_ordinary_third_party_cookies_but_keeps_partitioned_ones(
    context: Any, page: Any, cookie_sites: tuple[str, str]
) -> None:
    top_url, embedded_url = cookie_sites
    page.goto(top_url)
    received = page.frame_locator("#probe").locator("#received")
    # The iframe followed /set -> /show: only the Partitioned cookie was stored and sent back.
    expect(received).to_have_text(PARTITIONED)

    stored = {cookie["name"]: cookie for cookie in context.cookies()}
    assert PLAIN not in stored
    assert stored[PARTITIONED].get("partitionKey", "").startswith("http://127.0.0.1")

    # Control: the same response in a first-party (top-level) context keeps both cookies, so the
    # drop above is the third-party block, not a malformed cookie.
    page.goto(embedded_url + "/set")
    expect(page.locator("#received")).to_have_text(f"{PARTITIONED} {PLAIN}")


# -- the EHR launch inside the iframe ----------------------------------------------------------


def _open_chart(page: Any, sandbox: RunningSandbox, patient: str) -> tuple[str, Any]:
    """Open the EHR chart of ``patient``; wait for Quietline's home page in the iframe.

    Returns the patient name the EHR shows and the iframe's locator.
    """
    page.goto(f"{sandbox.url}/ehr/launch?patient={patient}&user=therapist")
    ehr_name = page.locator(".patient-banner strong").inner_text().strip()
    assert ehr_name
    app = page.frame_locator("#app-frame")
    expect(app.locator("#patient-name")).to_have_text(ehr_name)
    return ehr_name, app


def _app_frame(page: Any, quietline: Quietline) -> Any:
    frames = [frame for frame in page.frames if frame.url.startswith(quietline.url + "/l/")]
    assert len(frames) == 1, [frame.url for frame in page.frames]
    return frames[0]


def _app_frame_content(page: Any, quietline: Quietline) -> str:
    frames = [frame for frame in page.frames if frame.url.startswith(quietline.url)]
    assert len(frames) == 1, [frame.url for frame in page.frames]
    return str(frames[0].content())


def _page_html(page: Any) -> str:
    return "\n".join(frame.content() for frame in page.frames)


def test_ehr_launch_in_cross_site_iframe(
    context: Any,
    page: Any,
    traffic: Traffic,
    console: list[str],
    quietline: Quietline,
    sandbox: RunningSandbox,
) -> None:
    assert urlsplit(sandbox.url).hostname != urlsplit(quietline.url).hostname

    _, app = _open_chart(page, sandbox, "pat-1")
    expect(page.locator("header")).to_contain_text(USERS["therapist"])
    tiles = app.locator("li.capability.available")
    expect(tiles.first).to_be_visible()
    expect(app.locator('li.capability[data-capability="screening"]')).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ehr-launch.png"), full_page=True)

    frame = _app_frame(page, quietline)
    handle = launch_handle(frame.url)
    pages_html = [_page_html(page)]
    quietline_html = [frame.content()]

    # The browser's own cookie store: one partitioned, HttpOnly, Secure, SameSite=None cookie.
    cookies = context.cookies()
    cookie = quietline_cookie(cookies)
    assert cookie["domain"] == "localhost"
    assert cookie["path"] == "/"
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "None"
    assert cookie.get("partitionKey", "").startswith("http://127.0.0.1")

    # The tokens of this launch, decrypted server-side with the handle and the cookie's hash.
    live = get_service(SqlLaunchStore, quietline.app).open(handle, lookup_hash(cookie["value"]))
    assert live.context.patient == "pat-1"
    secrets = {"access token": live.tokens.access_token}
    if live.tokens.refresh_token:
        secrets["refresh token"] = live.tokens.refresh_token
    (token_request,) = sandbox.request_log.matching("/auth/token")
    secrets["code verifier"] = token_request.form["code_verifier"]
    code = token_request.form["code"]

    # A later page in the iframe works with the partitioned cookie: end the session.
    app.get_by_role("button", name="End Quietline session").click()
    expect(app.get_by_role("heading", name="Session ended")).to_be_visible()
    pages_html.append(_page_html(page))
    quietline_html.append(_app_frame_content(page, quietline))
    # ... and the launch is really gone: its handle no longer opens a page.
    frame.goto(f"{quietline.url}/l/{handle}/")
    expect(app.locator("h1")).to_have_text("Please open Quietline again")
    expect(app.locator("#patient-name")).to_have_count(0)

    assert any(url.startswith(quietline.url + "/callback?") for url in traffic.urls)
    everything_sent = "\n".join(traffic.urls + traffic.bodies)
    cookie_values = "\n".join(c["value"] for c in context.cookies())
    for name, value in secrets.items():
        assert value not in everything_sent, f"{name} in a URL or form the browser sent"
        assert value not in cookie_values, f"{name} in a cookie"
        assert all(value not in text for text in pages_html), f"{name} in a page"
    assert code not in cookie_values
    assert all(code not in text for text in pages_html)
    # The patient id is in the EHR's own URL, but never in Quietline's URLs or pages.
    quietline_urls = [url for url in traffic.urls if url.startswith(quietline.url)]
    assert all("pat-1" not in url for url in quietline_urls)
    assert all("pat-1" not in text for text in quietline_html)
    assert csp_violations(console) == []


def test_two_tabs_keep_two_launches_apart(
    context: Any, console: list[str], quietline: Quietline, sandbox: RunningSandbox
) -> None:
    first, second = context.new_page(), context.new_page()
    first_name, first_app = _open_chart(first, sandbox, "pat-1")
    second_name, second_app = _open_chart(second, sandbox, "pat-2")
    assert first_name != second_name

    # Same browser, same partition: one cookie, two launches told apart by their handles.
    quietline_cookie(context.cookies())
    first_frame, second_frame = _app_frame(first, quietline), _app_frame(second, quietline)
    assert launch_handle(first_frame.url) != launch_handle(second_frame.url)

    # The second launch did not replace the first: reloading each tab shows its own patient.
    first_frame.goto(first_frame.url)
    expect(first_app.locator("#patient-name")).to_have_text(first_name)
    second_frame.goto(second_frame.url)
    expect(second_app.locator("#patient-name")).to_have_text(second_name)
    assert re.search(r"/l/[^/]+/$", first_frame.url)
    assert csp_violations(console) == []
