# SPDX-License-Identifier: Apache-2.0
"""smart_launch.http: every outbound request has a timeout, ignores the environment's proxies,
and its time is accumulated by the upstream timer."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from werkzeug.wrappers import Response

from smart_launch.http import DEFAULT_TIMEOUT
from smart_launch.http import MAX_DOCUMENT_BYTES
from smart_launch.http import ResponseTooLarge
from smart_launch.http import configure_session
from smart_launch.http import get_bounded
from smart_launch.http import make_session
from smart_launch.http import upstream_timer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import Peer


def _slow(seconds: float) -> Response:
    time.sleep(seconds)
    return Response("{}", content_type="application/json")


def _slow_body(seconds: float) -> Response:
    """Headers at once, then the body after ``seconds`` (a large, slowly generated Bundle)."""

    def body() -> Iterator[bytes]:
        yield b""
        time.sleep(seconds)
        yield b'{"resourceType": "Bundle"}'

    return Response(body(), content_type="application/json")


def test_a_request_without_a_timeout_gets_the_configured_one(peer: Peer) -> None:
    peer.route("GET", "/slow", lambda _r: _slow(0.5))
    with make_session(timeout=(1.0, 0.1)) as session:
        started = time.perf_counter()
        with pytest.raises(requests.Timeout):
            session.get(peer.url + "/slow")
        assert time.perf_counter() - started < 0.45


def test_an_explicit_timeout_overrides_the_default(peer: Peer) -> None:
    peer.route("GET", "/slow", lambda _r: _slow(0.2))
    with make_session(timeout=(1.0, 0.05)) as session:
        response = session.get(peer.url + "/slow", timeout=2.0)
    assert response.status_code == 200


@pytest.mark.parametrize("scheme", ["http://", "https://"])
def test_the_default_timeout_is_mounted_for_both_schemes(scheme: str) -> None:
    with make_session() as session:
        adapter = session.get_adapter(scheme + "ehr.example/fhir")
        assert adapter._timeout == DEFAULT_TIMEOUT  # type: ignore[attr-defined]
        assert adapter.max_retries.total == 0


def test_environment_proxies_are_ignored(
    peer: Peer, closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer.json("/ok", {"ok": True})
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, closed_url)

    with requests.Session() as plain, pytest.raises(requests.ConnectionError):
        plain.get(peer.url + "/ok", timeout=2)
    with make_session() as session:
        assert session.trust_env is False
        assert session.get(peer.url + "/ok").json() == {"ok": True}


def test_configure_session_gives_an_oauth_session_the_same_guarantees(peer: Peer) -> None:
    peer.route("GET", "/slow", lambda _r: _slow(0.5))
    peer.json("/ok", {})
    with OAuth2Session(client_id="quietline") as oauth:
        configure_session(oauth, (1.0, 0.1))
        assert oauth.trust_env is False
        oauth.get(peer.url + "/ok", withhold_token=True)
        with pytest.raises(requests.Timeout):
            oauth.get(peer.url + "/slow", withhold_token=True)
    assert peer.requests_to("/ok")[0].headers["User-Agent"] == "Quietline-SMART/0.1"


def test_upstream_timer_accumulates_calls_and_seconds(peer: Peer) -> None:
    peer.route("GET", "/slow", lambda _r: _slow(0.05))
    timer = upstream_timer()
    with make_session() as session:
        for _ in range(3):
            session.get(peer.url + "/slow")
    assert timer.calls == 3
    assert timer.seconds >= 0.15


def test_a_failed_call_is_timed_too(peer: Peer) -> None:
    peer.route("GET", "/slow", lambda _r: _slow(0.5))
    timer = upstream_timer()
    with make_session(timeout=(1.0, 0.1)) as session, pytest.raises(requests.Timeout):
        session.get(peer.url + "/slow")
    assert timer.calls == 1
    assert timer.seconds >= 0.1


def test_a_new_timer_starts_from_zero_and_the_old_one_stops(peer: Peer) -> None:
    peer.json("/ok", {})
    with make_session() as session:
        first = upstream_timer()
        session.get(peer.url + "/ok")
        second = upstream_timer()
        session.get(peer.url + "/ok")
        session.get(peer.url + "/ok")
    assert (first.calls, second.calls) == (1, 2)


def test_calls_in_another_context_are_not_counted(peer: Peer) -> None:
    peer.json("/ok", {})
    timer = upstream_timer()
    with make_session() as session:
        thread = threading.Thread(target=session.get, args=(peer.url + "/ok",))
        thread.start()
        thread.join()
    assert peer.hits("/ok") == 1
    assert timer.calls == 0


def test_time_spent_reading_a_slow_body_counts_as_upstream_time(peer: Peer) -> None:
    peer.route("GET", "/bundle", lambda _r: _slow_body(0.3))
    timer = upstream_timer()
    with make_session() as session:
        response = session.get(peer.url + "/bundle")
    assert response.json() == {"resourceType": "Bundle"}
    assert timer.seconds >= 0.3


def _endless_json() -> Response:
    """A JSON body with no Content-Length that never stops growing within reason (1 MiB)."""

    def body() -> Iterator[bytes]:
        yield b'{"keys": ['
        for _ in range(1024):
            yield b'{"kty": "oct", "k": "' + b"A" * 1000 + b'"},'
        yield b"{}]}"

    return Response(body(), content_type="application/json")


def _declared_huge() -> Response:
    """A small, valid body whose Content-Length header claims a gigabyte."""
    response = Response('{"keys": []}', content_type="application/json")
    response.headers["Content-Length"] = str(1024**3)
    return response


def test_a_bounded_get_returns_a_small_body(peer: Peer) -> None:
    peer.json("/doc", {"keys": []})
    with make_session() as session:
        status, body = get_bounded(session, peer.url + "/doc")
    assert (status, json.loads(body)) == (200, {"keys": []})


def test_a_body_past_the_limit_is_refused_while_streaming(peer: Peer) -> None:
    peer.route("GET", "/doc", lambda _r: _endless_json())
    with make_session() as session, pytest.raises(ResponseTooLarge) as raised:
        get_bounded(session, peer.url + "/doc", limit=MAX_DOCUMENT_BYTES)
    assert raised.value.status_code == 502
    assert "too large" in raised.value.description


def test_a_declared_length_past_the_limit_is_refused_before_reading(peer: Peer) -> None:
    peer.route("GET", "/doc", lambda _r: _declared_huge())
    with make_session() as session, pytest.raises(ResponseTooLarge):
        get_bounded(session, peer.url + "/doc")


def test_the_limit_is_exact(peer: Peer) -> None:
    peer.text("/doc", "x" * 100, content_type="text/plain")
    with make_session() as session:
        assert get_bounded(session, peer.url + "/doc", limit=100)[1] == b"x" * 100
        with pytest.raises(ResponseTooLarge):
            get_bounded(session, peer.url + "/doc", limit=99)
