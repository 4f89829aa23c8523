# SPDX-License-Identifier: Apache-2.0
"""smart_launch.identity: id_token validation against a real OpenID issuer with its own key."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from smart_launch.errors import IdTokenError
from smart_launch.errors import UpstreamUnavailable
from smart_launch.http import make_session
from smart_launch.identity import IdentityClaims
from smart_launch.identity import JwksCache
from smart_launch.identity import validate_id_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import Peer

CLIENT_ID = "quietline"
OPENID = "/.well-known/openid-configuration"
JWKS = "/jwks"
FAR_FUTURE = int(time.time()) + 10 * 365 * 24 * 3600
"""Far enough ahead to stay in the future however long after collection a test runs."""


@pytest.fixture(scope="module")
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True)


@pytest.fixture(scope="module")
def next_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "key-2"}, private=True)


@pytest.fixture
def issuer(peer: Peer, signing_key: RSAKey) -> Peer:
    """``peer`` as an OpenID issuer publishing ``signing_key`` (relative ``jwks_uri``)."""
    peer.json(OPENID, {"issuer": peer.url, "jwks_uri": JWKS})
    _publish(peer, signing_key)
    return peer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks(clock: Clock) -> Iterator[JwksCache]:
    with make_session(timeout=(1.0, 1.0)) as session:
        yield JwksCache(session, min_refetch=10, clock=clock)


def _publish(peer: Peer, *keys: RSAKey) -> None:
    peer.json(JWKS, {"keys": [key.as_dict(private=False) for key in keys]})


def _claims(peer: Peer, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": peer.url,
        "aud": CLIENT_ID,
        "sub": "therapist",
        "iat": now,
        "exp": now + 300,
        "fhirUser": "Practitioner/therapist",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _sign(key: RSAKey, claims: dict[str, Any], *, kid: str | None = None) -> str:
    header = {"alg": "RS256", "kid": kid or str(key.kid), "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _validate(peer: Peer, token: str, jwks: JwksCache, **kwargs: Any) -> IdentityClaims:
    return validate_id_token(
        token,
        issuer=kwargs.pop("issuer", peer.url),
        client_id=CLIENT_ID,
        fhir_base=peer.fhir_base,
        jwks=jwks,
        **kwargs,
    )


def test_a_valid_token_is_accepted_with_an_absolute_fhir_user(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache
) -> None:
    identity = _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)
    assert identity == IdentityClaims(
        subject="therapist", fhir_user=issuer.fhir_base + "/Practitioner/therapist"
    )


@pytest.mark.parametrize(
    ("fhir_user", "expected"),
    [
        ("https://ehr.example/fhir/Practitioner/p1", "https://ehr.example/fhir/Practitioner/p1"),
        ("PractitionerRole/r1", "{base}/PractitionerRole/r1"),
        ("Patient/pat-1", "{base}/Patient/pat-1"),
        ("RelatedPerson/rp-1", "{base}/RelatedPerson/rp-1"),
        ("Person/pe-1", "{base}/Person/pe-1"),
        (None, None),
        ("", None),
    ],
)
def test_fhir_user_forms(
    issuer: Peer,
    signing_key: RSAKey,
    jwks: JwksCache,
    fhir_user: str | None,
    expected: str | None,
) -> None:
    identity = _validate(issuer, _sign(signing_key, _claims(issuer, fhirUser=fhir_user)), jwks)
    wanted = None if expected is None else expected.format(base=issuer.fhir_base)
    assert identity.fhir_user == wanted


def test_an_audience_list_containing_the_client_is_accepted(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache
) -> None:
    token = _sign(signing_key, _claims(issuer, aud=["another-app", CLIENT_ID]))
    assert _validate(issuer, token, jwks).subject == "therapist"


def test_a_token_expired_within_the_leeway_is_accepted(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache
) -> None:
    token = _sign(signing_key, _claims(issuer, exp=int(time.time()) - 30))
    assert _validate(issuer, token, jwks).subject == "therapist"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"iss": "https://issuer.invalid"}, id="wrong-iss"),
        pytest.param({"iss": None}, id="no-iss"),
        pytest.param({"aud": "another-app"}, id="wrong-aud"),
        pytest.param({"aud": ["a", "b"]}, id="aud-list-without-client"),
        pytest.param({"aud": None}, id="no-aud"),
        pytest.param({"exp": int(time.time()) - 120}, id="expired"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"exp": "9999999999"}, id="exp-string"),
        pytest.param({"sub": None}, id="no-sub"),
        pytest.param({"sub": ""}, id="empty-sub"),
        pytest.param({"sub": 42}, id="numeric-sub"),
        pytest.param({"iat": FAR_FUTURE}, id="iat-in-the-future"),
        pytest.param({"nbf": FAR_FUTURE}, id="nbf-in-the-future"),
        pytest.param({"nbf": "soon"}, id="nbf-string"),
        pytest.param({"fhirUser": "Observation/o1"}, id="fhir-user-observation"),
        pytest.param({"fhirUser": "Practitioner"}, id="fhir-user-without-id"),
        pytest.param({"fhirUser": "https://ehr.example/fhir/Group/g1"}, id="fhir-user-group"),
    ],
)
def test_bad_claims_are_refused(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache, overrides: dict[str, Any]
) -> None:
    claims = _claims(issuer)
    for name, value in overrides.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    with pytest.raises(IdTokenError) as raised:
        _validate(issuer, _sign(signing_key, claims), jwks)
    assert raised.value.status_code == 401


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(
    issuer: Peer, next_key: RSAKey, jwks: JwksCache
) -> None:
    forged = _sign(next_key, _claims(issuer), kid="key-1")
    with pytest.raises(IdTokenError, match="signature"):
        _validate(issuer, forged, jwks)


def test_a_tampered_token_is_refused(issuer: Peer, signing_key: RSAKey, jwks: JwksCache) -> None:
    header, _payload, signature = _sign(signing_key, _claims(issuer)).split(".")
    tampered = ".".join([header, _b64(_claims(issuer, sub="admin")), signature])
    with pytest.raises(IdTokenError, match="signature"):
        _validate(issuer, tampered, jwks)


def test_an_unsigned_alg_none_token_is_refused(issuer: Peer, jwks: JwksCache) -> None:
    token = _b64({"alg": "none", "kid": "key-1"}) + "." + _b64(_claims(issuer)) + "."
    with pytest.raises(IdTokenError):
        _validate(issuer, token, jwks)


def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache
) -> None:
    secret = OctKey.import_key(json.dumps(signing_key.as_dict(private=False)).encode())
    token = jwt.encode({"alg": "HS256", "kid": "key-1"}, _claims(issuer), secret)
    with pytest.raises(IdTokenError):
        _validate(issuer, token, jwks)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "a.b"])
def test_garbage_is_refused(issuer: Peer, jwks: JwksCache, token: str) -> None:
    with pytest.raises(IdTokenError):
        _validate(issuer, token, jwks)


def test_keys_are_cached(issuer: Peer, signing_key: RSAKey, jwks: JwksCache) -> None:
    for _ in range(3):
        _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)
    assert (issuer.hits(OPENID), issuer.hits(JWKS)) == (1, 1)


def test_an_unknown_kid_triggers_one_refetch_for_key_rotation(
    issuer: Peer, signing_key: RSAKey, next_key: RSAKey, jwks: JwksCache, clock: Clock
) -> None:
    _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)
    _publish(issuer, next_key)
    clock.now += 11

    identity = _validate(issuer, _sign(next_key, _claims(issuer, sub="rotated")), jwks)
    assert identity.subject == "rotated"
    assert issuer.hits(JWKS) == 2

    _validate(issuer, _sign(next_key, _claims(issuer)), jwks)
    assert issuer.hits(JWKS) == 2


def test_an_unknown_kid_just_after_a_fetch_is_refused_without_a_refetch(
    issuer: Peer, next_key: RSAKey, jwks: JwksCache
) -> None:
    with pytest.raises(IdTokenError):
        _validate(issuer, _sign(next_key, _claims(issuer)), jwks)
    assert issuer.hits(JWKS) == 1


def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(
    issuer: Peer, signing_key: RSAKey, next_key: RSAKey, jwks: JwksCache, clock: Clock
) -> None:
    _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)
    for n in range(50):
        with pytest.raises(IdTokenError, match="signature"):
            _validate(issuer, _sign(next_key, _claims(issuer), kid=f"made-up-{n}"), jwks)
    assert issuer.hits(JWKS) == 1

    clock.now += 11
    for n in range(50):
        with pytest.raises(IdTokenError):
            _validate(issuer, _sign(next_key, _claims(issuer), kid=f"other-{n}"), jwks)
    assert issuer.hits(JWKS) == 2


def test_a_rotated_key_is_not_fetched_before_the_interval_but_is_after(
    issuer: Peer, signing_key: RSAKey, next_key: RSAKey, jwks: JwksCache, clock: Clock
) -> None:
    _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)
    _publish(issuer, signing_key, next_key)
    rotated = _sign(next_key, _claims(issuer))
    clock.now += 5
    with pytest.raises(IdTokenError):
        _validate(issuer, rotated, jwks)

    clock.now += 6
    assert _validate(issuer, rotated, jwks).subject == "therapist"
    assert issuer.hits(JWKS) == 2


def test_an_oversized_key_set_is_refused(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache
) -> None:
    issuer.text(JWKS, '{"keys": [], "pad": "' + "x" * 70_000 + '"}', content_type="text/plain")
    with pytest.raises(IdTokenError, match="could not be read"):
        _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)


def test_an_issuer_mismatch_in_the_openid_configuration_is_refused(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache
) -> None:
    issuer.json(OPENID, {"issuer": "https://attacker.example", "jwks_uri": JWKS})
    with pytest.raises(IdTokenError, match="another issuer"):
        _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)
    assert issuer.hits(JWKS) == 0


def test_an_issuer_with_a_trailing_slash_is_the_same_issuer(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache
) -> None:
    issuer.json(OPENID, {"issuer": issuer.url + "/", "jwks_uri": issuer.url + JWKS})
    token = _sign(signing_key, _claims(issuer, iss=issuer.url + "/"))
    assert _validate(issuer, token, jwks, issuer=issuer.url + "/").subject == "therapist"


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (OPENID, 404, "missing"),
        (OPENID, 200, "<html></html>"),
        (OPENID, 200, "[]"),
        (OPENID, 200, json.dumps({"issuer": "{url}"})),
        (OPENID, 200, json.dumps({"issuer": "{url}", "jwks_uri": ""})),
        (JWKS, 500, "{}"),
        (JWKS, 200, "not json"),
        (JWKS, 200, "{}"),
        (JWKS, 200, json.dumps({"keys": [{"kty": "RSA", "kid": "key-1"}]})),
        (JWKS, 200, json.dumps({"keys": "key-1"})),
    ],
)
def test_unusable_issuer_documents_are_id_token_errors(
    issuer: Peer, signing_key: RSAKey, jwks: JwksCache, path: str, status: int, body: str
) -> None:
    issuer.text(path, body.replace("{url}", issuer.url), status=status)
    with pytest.raises(IdTokenError):
        _validate(issuer, _sign(signing_key, _claims(issuer)), jwks)


def test_an_unreachable_issuer_is_upstream_unavailable(
    closed_url: str, signing_key: RSAKey, jwks: JwksCache
) -> None:
    claims = {"iss": closed_url, "aud": CLIENT_ID, "sub": "u", "exp": int(time.time()) + 60}
    with pytest.raises(UpstreamUnavailable):
        validate_id_token(
            _sign(signing_key, claims),
            issuer=closed_url,
            client_id=CLIENT_ID,
            fhir_base=closed_url + "/fhir",
            jwks=jwks,
        )
