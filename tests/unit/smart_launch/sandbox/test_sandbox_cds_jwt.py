# SPDX-License-Identifier: Apache-2.0
"""The EHR's CDS Hooks JWT: ES384, ``jku`` at ``R/cds/jwks.json``, and the claims CDS Hooks names."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import pytest
import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet

from smart_launch.sandbox import SandboxConfig
from smart_launch.sandbox import start
from smart_launch.sandbox.cds_jwt import CDS_JWT_LIFETIME
from smart_launch.sandbox.cds_jwt import CdsSigningKey
from smart_launch.sandbox.state import get_state

if TYPE_CHECKING:
    from pathlib import Path

    from smart_launch.sandbox import RunningSandbox


def _sign(sandbox: RunningSandbox, audience: str) -> str:
    key = get_state(sandbox.app).cds_key
    return key.sign(issuer=sandbox.url, jku=sandbox.config.cds_jwks_uri, audience=audience)


def test_the_published_key_set_verifies_the_jwt(sandbox: RunningSandbox) -> None:
    response = requests.get(sandbox.url + "/cds/jwks.json", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    published = response.json()
    (jwk,) = published["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-384", "ES384", "sig")
    assert "d" not in jwk

    audience = "http://localhost:8701/cds-services/appointment-book"
    token = jwt.decode(
        _sign(sandbox, audience), KeySet.import_key_set(published), algorithms=["ES384"]
    )
    assert token.header == {
        "alg": "ES384",
        "kid": jwk["kid"],
        "typ": "JWT",
        "jku": sandbox.url + "/cds/jwks.json",
    }
    claims = token.claims
    assert set(claims) == {"iss", "aud", "iat", "exp", "jti"}
    assert claims["iss"] == sandbox.url
    assert claims["aud"] == audience
    assert claims["exp"] - claims["iat"] == CDS_JWT_LIFETIME
    assert uuid.UUID(claims["jti"]).version == 4
    assert claims["iat"] <= int(time.time())


def test_every_jwt_has_a_fresh_jti(sandbox: RunningSandbox) -> None:
    jtis = {
        jwt.decode(
            _sign(sandbox, "https://cds.example/cds-services"),
            KeySet.import_key_set(get_state(sandbox.app).cds_key.jwks()),
            algorithms=["ES384"],
        ).claims["jti"]
        for _ in range(5)
    }
    assert len(jtis) == 5


def test_another_key_does_not_verify_it(sandbox: RunningSandbox) -> None:
    other = ECKey.import_key(CdsSigningKey.generate().jwks()["keys"][0])
    with pytest.raises(BadSignatureError):
        jwt.decode(_sign(sandbox, "https://cds.example/x"), other, algorithms=["ES384"])


def test_no_symmetric_algorithm_accepts_it(sandbox: RunningSandbox) -> None:
    published = KeySet.import_key_set(get_state(sandbox.app).cds_key.jwks())
    with pytest.raises(JoseError):
        jwt.decode(_sign(sandbox, "https://cds.example/x"), published, algorithms=["HS256"])


def test_the_key_survives_a_restart(tmp_path: Path) -> None:
    config = SandboxConfig(db_path=tmp_path / "ehr.sqlite3")
    with start(config) as first:
        kid = get_state(first.app).cds_key.kid
    with start(SandboxConfig(db_path=tmp_path / "ehr.sqlite3")) as second:
        assert get_state(second.app).cds_key.kid == kid
        assert (
            requests.get(second.url + "/cds/jwks.json", timeout=5).json()["keys"][0]["kid"] == kid
        )
