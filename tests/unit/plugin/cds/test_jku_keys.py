# SPDX-License-Identifier: Apache-2.0
"""The key cache behind ``jku``: one fetch per TTL, one refetch for a new ``kid``, and no
stream of fetches for bad ones (time is a fake clock here)."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey
from joserfc.jwk import OctKey

from plugin.cds.errors import InvalidToken
from plugin.cds.jwt import JkuKeys
from smart_launch.http import make_session
from tests.unit.plugin.cds.support import RecordingServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(kid: str) -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": kid}, private=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(clock: Clock) -> JkuKeys:
    return JkuKeys(make_session(), ttl=300, min_refresh=10, clock=clock)


def _publish(server: RecordingServer, *keys: ECKey | OctKey) -> None:
    server.document = {"keys": [key.as_dict(private=False) for key in keys]}


@pytest.fixture
def url(jwks_server: RecordingServer) -> str:
    """The set's address, with key ``a`` published there."""
    _publish(jwks_server, _key("a"))
    return f"{jwks_server.url}/jwks"


@pytest.fixture
def cached(keys: JkuKeys, url: str) -> str:
    """``url`` after key ``a`` has been fetched from it once."""
    keys.key(url, "a")
    return url


def test_a_cached_key_is_not_fetched_again(
    keys: JkuKeys, jwks_server: RecordingServer, url: str
) -> None:
    for _ in range(3):
        assert keys.key(url, "a").kid == "a"

    assert len(jwks_server.requests) == 1


def test_a_rotated_key_is_found_by_one_refetch(
    keys: JkuKeys, jwks_server: RecordingServer, clock: Clock, cached: str
) -> None:
    _publish(jwks_server, _key("a"), _key("b"))
    clock.now += 11

    assert keys.key(cached, "b").kid == "b"
    assert len(jwks_server.requests) == 2


def test_unknown_kids_do_not_cause_a_stream_of_fetches(
    keys: JkuKeys, jwks_server: RecordingServer, clock: Clock, cached: str
) -> None:
    for kid in ("x", "y", "z"):
        with pytest.raises(InvalidToken, match="kid is not in"):
            keys.key(cached, kid)
    assert len(jwks_server.requests) == 1

    clock.now += 11
    with pytest.raises(InvalidToken):
        keys.key(cached, "x")
    assert len(jwks_server.requests) == 2


def test_the_set_is_fetched_again_after_its_ttl(
    keys: JkuKeys, jwks_server: RecordingServer, clock: Clock, cached: str
) -> None:
    _publish(jwks_server, _key("c"))
    clock.now += 301

    with pytest.raises(InvalidToken):
        keys.key(cached, "a")  # the EHR withdrew it
    assert len(jwks_server.requests) == 2


def test_symmetric_keys_in_the_set_are_ignored(keys: JkuKeys, jwks_server: RecordingServer) -> None:
    jwks_server.document = {
        "keys": [OctKey.generate_key(256, parameters={"kid": "h"}).as_dict(private=True)]
    }

    with pytest.raises(InvalidToken, match="kid is not in"):
        keys.key(f"{jwks_server.url}/jwks", "h")


@pytest.mark.parametrize("document", [{"keys": "nope"}, {"keys": [{"kty": "EC"}]}, ["x"]])
def test_an_unusable_set_is_refused(
    keys: JkuKeys, jwks_server: RecordingServer, document: object
) -> None:
    jwks_server.document = document  # type: ignore[assignment]

    with pytest.raises(InvalidToken, match="not a usable JWK Set"):
        keys.key(f"{jwks_server.url}/jwks", "a")


def test_an_unreachable_set_is_refused(keys: JkuKeys) -> None:
    with pytest.raises(InvalidToken, match="could not be fetched"):
        keys.key("http://127.0.0.1:9/jwks", "a")


def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(
    keys: JkuKeys, jwks_server: RecordingServer, clock: Clock, cached: str
) -> None:
    for interval in range(3):
        clock.now += 10
        for n in range(40):
            with pytest.raises(InvalidToken, match="kid is not in"):
                keys.key(cached, f"made-up-{interval}-{n}")
            clock.now += 0.2
        assert len(jwks_server.requests) == 2 + interval


def test_a_rotated_key_is_picked_up_only_after_the_interval(
    keys: JkuKeys, jwks_server: RecordingServer, clock: Clock, cached: str
) -> None:
    _publish(jwks_server, _key("a"), _key("b"))

    clock.now += 5
    with pytest.raises(InvalidToken, match="kid is not in"):
        keys.key(cached, "b")
    clock.now += 5
    assert keys.key(cached, "b").kid == "b"
    assert len(jwks_server.requests) == 2


def test_an_oversized_set_is_refused(keys: JkuKeys, jwks_server: RecordingServer) -> None:
    jwks_server.document = {"keys": [], "padding": "x" * (64 * 1024)}

    with pytest.raises(InvalidToken, match="too large"):
        keys.key(f"{jwks_server.url}/jwks", "a")


def test_only_a_bounded_number_of_urls_is_kept(jwks_server: RecordingServer) -> None:
    _publish(jwks_server, _key("a"))
    keys = JkuKeys(make_session(), max_urls=3)

    for n in range(10):
        keys.key(f"{jwks_server.url}/jwks/{n}", "a")

    assert keys.cached_urls() == 3
