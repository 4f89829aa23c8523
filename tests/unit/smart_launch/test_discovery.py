# SPDX-License-Identifier: Apache-2.0
"""smart_launch.discovery against a real HTTP server publishing canned SMART configurations."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from typing import Any

import pytest
from werkzeug.wrappers import Response

from smart_launch.discovery import STORED_FIELDS
from smart_launch.discovery import ConfigurationCache
from smart_launch.discovery import SmartConfiguration
from smart_launch.discovery import fetch_configuration
from smart_launch.discovery import well_known_url
from smart_launch.errors import DiscoveryError
from smart_launch.errors import UpstreamUnavailable
from smart_launch.http import MAX_DOCUMENT_BYTES
from smart_launch.http import make_session

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests
    from conftest import Peer

WELL_KNOWN = "/fhir/.well-known/smart-configuration"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with make_session(timeout=(1.0, 0.5)) as made:
        yield made


def _config(**fields: Any) -> SmartConfiguration:
    document: dict[str, Any] = {
        "authorization_endpoint": "https://ehr.example/auth/authorize",
        "token_endpoint": "https://ehr.example/auth/token",
        "code_challenge_methods_supported": ["S256"],
        "capabilities": ["launch-ehr"],
    }
    document.update(fields)
    return SmartConfiguration(
        {k: v for k, v in document.items() if v is not None}, fhir_base="https://ehr.example/fhir"
    )


@pytest.mark.parametrize(
    "iss", ["https://ehr.example/fhir", "https://ehr.example/fhir/", "https://ehr.example/fhir//"]
)
def test_well_known_url(iss: str) -> None:
    assert well_known_url(iss) == "https://ehr.example/fhir/.well-known/smart-configuration"


@pytest.mark.parametrize(
    ("published", "resolved"),
    [
        ("auth/token", "{root}/fhir/auth/token"),
        ("/auth/token", "{root}/auth/token"),
        ("../oauth/token", "{root}/oauth/token"),
        ("https://login.ehr.example/token", "https://login.ehr.example/token"),
    ],
)
def test_relative_urls_are_resolved_against_the_fhir_base(
    peer: Peer, session: requests.Session, published: str, resolved: str
) -> None:
    peer.smart_configuration(
        token_endpoint=published, authorization_endpoint=published, jwks_uri=published
    )
    config = fetch_configuration(peer.fhir_base + "/", session)

    expected = resolved.format(root=peer.url)
    assert config.token_endpoint == expected
    assert config.authorization_endpoint == expected
    assert config.jwks_uri == expected
    assert config.fhir_base == peer.fhir_base
    config.validate_for_launch()


def test_discovery_asks_for_json(peer: Peer, session: requests.Session) -> None:
    peer.smart_configuration()
    config = fetch_configuration(peer.fhir_base, session)
    assert peer.requests_to(WELL_KNOWN)[0].headers["Accept"] == "application/json"
    assert config.issuer == peer.url
    assert "launch-ehr" in config.capabilities


@pytest.mark.parametrize(
    "methods",
    [None, [], ["plain"], "S256", ["s256"], {"S256": True}],
    ids=["missing", "empty", "plain-only", "string", "lowercase", "object"],
)
def test_a_configuration_without_s256_is_refused(methods: object) -> None:
    config = _config(code_challenge_methods_supported=methods)
    with pytest.raises(DiscoveryError, match="S256"):
        config.validate_for_launch()


@pytest.mark.parametrize("methods", [["S256", "plain"], ["plain", "S256"]])
def test_a_configuration_offering_plain_is_refused(methods: list[str]) -> None:
    with pytest.raises(DiscoveryError, match="plain"):
        _config(code_challenge_methods_supported=methods).validate_for_launch()


@pytest.mark.parametrize("field", ["authorization_endpoint", "token_endpoint"])
@pytest.mark.parametrize("value", [None, "", "javascript:alert(1)", "ftp://ehr.example/t", 42])
def test_launch_needs_usable_endpoints(field: str, value: object) -> None:
    with pytest.raises(DiscoveryError, match=field):
        _config(**{field: value}).validate_for_launch()


@pytest.mark.parametrize("capabilities", ["launch-ehr", {"launch-ehr": True}, None])
def test_malformed_capabilities_are_refused(capabilities: object) -> None:
    config = SmartConfiguration(
        {
            "authorization_endpoint": "https://ehr.example/a",
            "token_endpoint": "https://ehr.example/t",
            "code_challenge_methods_supported": ["S256"],
            "capabilities": capabilities,
        },
        fhir_base="https://ehr.example/fhir",
    )
    with pytest.raises(DiscoveryError, match="capabilities"):
        config.validate_for_launch()
    assert config.capabilities == frozenset()


def test_validate_for_backend_needs_no_pkce_and_no_authorization_endpoint() -> None:
    config = _config(code_challenge_methods_supported=None, authorization_endpoint=None)
    config.validate_for_backend()
    with pytest.raises(DiscoveryError):
        config.validate_for_launch()


def test_validate_for_backend_still_needs_a_token_endpoint() -> None:
    with pytest.raises(DiscoveryError, match="token_endpoint"):
        _config(token_endpoint=None).validate_for_backend()


@pytest.mark.parametrize(
    ("status", "body", "content_type", "match"),
    [
        (404, "not found", "text/plain", "HTTP 404"),
        (500, '{"error": "x"}', "application/json", "HTTP 500"),
        (200, "<html>SMART</html>", "text/html", "not JSON"),
        (200, "", "application/json", "not JSON"),
        (200, '["S256"]', "application/json", "not a JSON object"),
        (200, '"config"', "application/json", "not a JSON object"),
        (200, "null", "application/json", "not a JSON object"),
    ],
)
def test_unusable_answers_are_discovery_errors(
    peer: Peer,
    session: requests.Session,
    status: int,
    body: str,
    content_type: str,
    match: str,
) -> None:
    peer.text(WELL_KNOWN, body, status=status, content_type=content_type)
    with pytest.raises(DiscoveryError, match=match):
        fetch_configuration(peer.fhir_base, session)


def test_an_oversized_configuration_is_refused_while_streaming(
    peer: Peer, session: requests.Session
) -> None:
    padding = "x" * (MAX_DOCUMENT_BYTES + 1)

    def chunked(_request: object) -> Response:
        def body() -> Iterator[bytes]:
            yield b'{"issuer": "'
            for start in range(0, len(padding), 4096):
                yield padding[start : start + 4096].encode()
            yield b'"}'

        return Response(body(), content_type="application/json")

    peer.route("GET", WELL_KNOWN, chunked)
    with pytest.raises(DiscoveryError, match="too large"):
        fetch_configuration(peer.fhir_base, session)


def test_a_redirect_is_not_followed(peer: Peer, session: requests.Session) -> None:
    peer.json("/elsewhere", {"token_endpoint": "https://attacker.example/token"})
    peer.route(
        "GET",
        WELL_KNOWN,
        lambda _r: Response(status=302, headers={"Location": peer.url + "/elsewhere"}),
    )
    with pytest.raises(DiscoveryError, match="302"):
        fetch_configuration(peer.fhir_base, session)
    assert peer.hits("/elsewhere") == 0


def test_an_unreachable_ehr_is_upstream_unavailable(
    closed_url: str, session: requests.Session
) -> None:
    with pytest.raises(UpstreamUnavailable):
        fetch_configuration(closed_url + "/fhir", session)


def test_a_slow_ehr_is_upstream_unavailable(peer: Peer) -> None:
    def slow(_request: object) -> Response:
        time.sleep(0.4)
        return Response("{}", content_type="application/json")

    peer.route("GET", WELL_KNOWN, slow)
    with make_session(timeout=(1.0, 0.1)) as fast, pytest.raises(UpstreamUnavailable):
        fetch_configuration(peer.fhir_base, fast)


def test_the_cache_fetches_once_per_ttl(peer: Peer, session: requests.Session) -> None:
    peer.smart_configuration()
    cache = ConfigurationCache(session)

    first = cache.get(peer.fhir_base)
    second = cache.get(peer.fhir_base)
    assert second is first
    assert peer.hits(WELL_KNOWN) == 1

    cache.clear()
    cache.get(peer.fhir_base)
    assert peer.hits(WELL_KNOWN) == 2


def test_an_expired_entry_is_fetched_again(peer: Peer, session: requests.Session) -> None:
    peer.smart_configuration()
    cache = ConfigurationCache(session, ttl=0)
    cache.get(peer.fhir_base)
    cache.get(peer.fhir_base)
    assert peer.hits(WELL_KNOWN) == 2


def test_the_cache_validates_per_purpose(peer: Peer, session: requests.Session) -> None:
    peer.smart_configuration(code_challenge_methods_supported=None)
    cache = ConfigurationCache(session)

    backend = cache.get(peer.fhir_base, purpose="backend")
    assert backend.token_endpoint == peer.url + "/auth/token"
    with pytest.raises(DiscoveryError, match="S256"):
        cache.get(peer.fhir_base, purpose="launch")
    with pytest.raises(DiscoveryError, match="S256"):
        cache.get(peer.fhir_base)
    assert cache.get(peer.fhir_base, purpose="backend") is backend


def test_a_refused_configuration_is_not_cached(peer: Peer, session: requests.Session) -> None:
    peer.smart_configuration(code_challenge_methods_supported=["S256", "plain"])
    cache = ConfigurationCache(session)
    with pytest.raises(DiscoveryError):
        cache.get(peer.fhir_base)

    peer.smart_configuration()
    assert cache.get(peer.fhir_base).token_endpoint == peer.url + "/auth/token"
    assert peer.hits(WELL_KNOWN) == 2


def test_each_issuer_has_its_own_entry(peer: Peer, session: requests.Session) -> None:
    peer.smart_configuration()
    peer.json(
        "/other/.well-known/smart-configuration",
        {
            "authorization_endpoint": "authorize",
            "token_endpoint": "token",
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["launch-ehr"],
        },
    )
    cache = ConfigurationCache(session)
    assert cache.get(peer.fhir_base).token_endpoint == peer.url + "/auth/token"
    assert cache.get(peer.url + "/other").token_endpoint == peer.url + "/other/token"


def test_missing_capabilities_refused_for_launch_but_not_for_backend() -> None:
    doc = {
        "authorization_endpoint": "https://ehr.example/authorize",
        "token_endpoint": "https://ehr.example/token",
        "code_challenge_methods_supported": ["S256"],
    }
    config = SmartConfiguration(doc, fhir_base="https://ehr.example/fhir")
    with pytest.raises(DiscoveryError, match="capabilities"):
        config.validate_for_launch()
    config.validate_for_backend()


def test_the_kept_fields_round_trip_and_are_validated_again() -> None:
    config = _config(
        token_endpoint_auth_methods_supported=["private_key_jwt"],
        scopes_supported=["openid"],
        management_endpoint="https://ehr.example/manage",
    )

    kept = config.stored()
    again = SmartConfiguration.from_stored(kept, fhir_base="https://ehr.example/fhir")

    assert set(kept) <= set(STORED_FIELDS)
    assert "scopes_supported" not in kept
    assert again.authorization_endpoint == config.authorization_endpoint
    assert again.token_endpoint == config.token_endpoint
    assert again["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]


def test_a_kept_configuration_offering_plain_is_refused() -> None:
    kept = _config().stored() | {"code_challenge_methods_supported": ["S256", "plain"]}

    with pytest.raises(DiscoveryError, match="plain"):
        SmartConfiguration.from_stored(kept, fhir_base="https://ehr.example/fhir")


def test_a_pinned_configuration_answers_without_a_fetch(
    peer: Peer, session: requests.Session
) -> None:
    cache = ConfigurationCache(session)
    kept = _config(authorization_endpoint="https://kept.example/authorize")
    pinned = cache.pinned(kept)

    peer.smart_configuration()

    assert pinned.get("https://ehr.example/fhir/") is kept
    assert peer.hits(WELL_KNOWN) == 0
    assert pinned.get(peer.fhir_base).authorization_endpoint != kept.authorization_endpoint
    assert peer.hits(WELL_KNOWN) == 1
