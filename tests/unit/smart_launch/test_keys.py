# SPDX-License-Identifier: Apache-2.0
"""smart_launch.keys: the RS384/ES384 key pair, its public JWKS and SMART client assertions."""

from __future__ import annotations

import base64
import json
import stat
import time
from typing import TYPE_CHECKING
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from smart_launch.errors import ClientAuthError
from smart_launch.keys import ASSERTION_LIFETIME
from smart_launch.keys import SUPPORTED_ALGS
from smart_launch.keys import ClientKeys
from smart_launch.keys import client_assertion

if TYPE_CHECKING:
    from pathlib import Path

TOKEN_URL = "https://ehr.example/auth/token"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def _assertion(keys: ClientKeys, **kwargs: Any) -> str:
    return client_assertion(keys, client_id="quietline", token_endpoint=TOKEN_URL, **kwargs)


def test_generated_keys_have_a_kid_and_an_alg_each(app_keys: ClientKeys) -> None:
    published = app_keys.public_jwks()["keys"]
    assert sorted(key["alg"] for key in published) == ["ES384", "RS384"]
    assert {key["kty"] for key in published} == {"RSA", "EC"}
    for key in published:
        assert key["kid"] == app_keys.kid(key["alg"])
        assert key["use"] == "sig"
    assert app_keys.kid("RS384") != app_keys.kid("ES384")


def test_the_public_jwks_has_no_private_members(app_keys: ClientKeys) -> None:
    for key in app_keys.public_jwks()["keys"]:
        assert PRIVATE_MEMBERS.isdisjoint(key)
        assert key["key_ops"] == ["verify"]
    assert all("d" in key for key in app_keys.private_jwks()["keys"])


def test_the_public_jwks_is_json_and_imports_as_public_keys(app_keys: ClientKeys) -> None:
    imported = KeySet.import_key_set(json.loads(json.dumps(app_keys.public_jwks())))
    assert len(imported.keys) == 2
    assert not any(key.is_private for key in imported.keys)


@pytest.mark.parametrize("alg", SUPPORTED_ALGS)
def test_assertion_header_and_claims_meet_smart(app_keys: ClientKeys, alg: str) -> None:
    before = int(time.time())
    token = _assertion(app_keys, alg=alg)
    header, claims = _part(token, 0), _part(token, 1)

    assert header == {"alg": alg, "kid": app_keys.kid(alg), "typ": "JWT"}
    assert claims["iss"] == claims["sub"] == "quietline"
    assert claims["aud"] == TOKEN_URL
    assert before <= claims["iat"] <= int(time.time())
    assert 0 < claims["exp"] - claims["iat"] <= 300


@pytest.mark.parametrize(("lifetime", "expected"), [(3600, 300), (301, 300), (300, 300), (60, 60)])
def test_assertion_lifetime_is_capped_at_five_minutes(
    app_keys: ClientKeys, lifetime: int, expected: int
) -> None:
    claims = _part(_assertion(app_keys, lifetime=lifetime, now=1_000_000), 1)
    assert claims["iat"] == 1_000_000
    assert claims["exp"] - claims["iat"] == expected
    assert expected <= ASSERTION_LIFETIME


def test_assertion_jti_is_unique_over_many_calls(app_keys: ClientKeys) -> None:
    jtis = [_part(_assertion(app_keys, alg="ES384", now=1), 1)["jti"] for _ in range(200)]
    assert len(set(jtis)) == 200
    assert all(len(jti) >= 22 for jti in jtis)


@pytest.mark.parametrize("alg", SUPPORTED_ALGS)
def test_assertion_verifies_with_the_published_jwks(app_keys: ClientKeys, alg: str) -> None:
    published = KeySet.import_key_set(app_keys.public_jwks())
    token = jwt.decode(_assertion(app_keys, alg=alg), published, algorithms=[alg])
    assert token.header["kid"] == app_keys.kid(alg)
    assert token.claims["sub"] == "quietline"


def test_assertion_does_not_verify_with_another_key(app_keys: ClientKeys) -> None:
    other = ClientKeys.generate()
    with pytest.raises(JoseError):
        jwt.decode(
            _assertion(app_keys), KeySet.import_key_set(other.public_jwks()), algorithms=["RS384"]
        )


@pytest.mark.parametrize("alg", ["RS256", "HS256", "none", "ES256", "PS384", ""])
def test_unsupported_algorithms_are_refused(app_keys: ClientKeys, alg: str) -> None:
    with pytest.raises(ClientAuthError):
        _assertion(app_keys, alg=alg)


def test_load_or_create_writes_a_0600_file_and_reloads_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "client-keys.json"
    created = ClientKeys.load_or_create(path)
    written = path.read_bytes()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reloaded = ClientKeys.load_or_create(path)
    assert path.read_bytes() == written
    for alg in SUPPORTED_ALGS:
        assert reloaded.kid(alg) == created.kid(alg)
    assert reloaded.public_jwks() == created.public_jwks()
    published = KeySet.import_key_set(created.public_jwks())
    assert jwt.decode(_assertion(reloaded, alg="ES384"), published, algorithms=["ES384"])


def test_a_key_set_missing_es384_is_refused(app_keys: ClientKeys) -> None:
    rsa_only = [key for key in app_keys.private_jwks()["keys"] if key["alg"] == "RS384"]
    with pytest.raises(ClientAuthError, match="ES384"):
        ClientKeys.from_jwks({"keys": rsa_only})


def test_a_key_without_alg_does_not_count() -> None:
    rsa = RSAKey.generate_key(2048, private=True)
    with pytest.raises(ClientAuthError, match="RS384, ES384"):
        ClientKeys.from_jwks({"keys": [rsa.as_dict(private=True)]})


def test_a_public_jwks_is_not_a_usable_client_key_set(app_keys: ClientKeys) -> None:
    with pytest.raises(ClientAuthError):
        ClientKeys.from_jwks(app_keys.public_jwks())


def test_asking_for_a_key_of_another_alg_is_refused(app_keys: ClientKeys) -> None:
    with pytest.raises(ClientAuthError):
        app_keys.key("RS256")


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "{}",
        "[]",
        '{"keys": "none"}',
        '{"keys": [{"kty": "RSA", "alg": "RS384"}]}',
    ],
)
def test_an_unreadable_key_file_is_a_client_auth_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "client-keys.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ClientAuthError, match=r"client-keys\.json"):
        ClientKeys.load(path)


def test_a_missing_key_file_is_a_client_auth_error(tmp_path: Path) -> None:
    with pytest.raises(ClientAuthError):
        ClientKeys.load(tmp_path / "absent.json")
