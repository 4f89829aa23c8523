# SPDX-License-Identifier: Apache-2.0
"""The sandbox's own RS256 key for id_tokens, published at ``/.well-known/jwks.json``.

SMART App Launch 2.2 ("Scopes and launch context", OpenID Connect): servers support RS256
id_tokens whose signature apps check against the ``jwks_uri`` of the OpenID configuration.
The private JWK is kept in the database so a restart keeps the ``kid`` apps have cached.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any

from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey

if TYPE_CHECKING:
    from .database import Database

__all__ = ["ID_TOKEN_ALG", "SigningKey", "load_signing_key"]

ID_TOKEN_ALG = "RS256"
_SETTING = "id_token_signing_jwk"
_EC_SETTING = "id_token_signing_jwk_es256"


class SigningKey:
    """An RSA private key with its ``kid``, and a P-256 key for the ES256 mode."""

    def __init__(self, key: RSAKey, ec_key: ECKey | None = None) -> None:
        self.key = key
        self.kid = str(key.kid)
        self.ec_key = ec_key or ECKey.generate_key("P-256", private=True, auto_kid=True)
        self.ec_kid = str(self.ec_key.kid)

    def for_alg(self, alg: str) -> tuple[RSAKey | ECKey, str]:
        """The private key and ``kid`` that sign with ``alg`` (``RS256`` or ``ES256``)."""
        return (self.ec_key, self.ec_kid) if alg == "ES256" else (self.key, self.kid)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh 2048-bit RSA key with a thumbprint ``kid``."""
        return cls(RSAKey.generate_key(2048, private=True, auto_kid=True))

    def public_jwk(self) -> dict[str, Any]:
        """The public RSA JWK as published."""
        data = dict(self.key.as_dict(private=False))
        data.update({"kid": self.kid, "use": "sig", "alg": ID_TOKEN_ALG})
        return data

    def public_ec_jwk(self) -> dict[str, Any]:
        """The public P-256 JWK as published."""
        data = dict(self.ec_key.as_dict(private=False))
        data.update({"kid": self.ec_kid, "use": "sig", "alg": "ES256"})
        return data

    def jwks(self, *, include_ec: bool = False) -> dict[str, Any]:
        """``{"keys": [RSA JWK]}``, plus the P-256 JWK in the ES256 mode."""
        keys = [self.public_jwk()]
        if include_ec:
            keys.append(self.public_ec_jwk())
        return {"keys": keys}


def load_signing_key(db: Database) -> SigningKey:
    """Load the key from ``db``, generating and storing it on first use."""

    def make() -> str:
        key = SigningKey.generate().key
        data: dict[str, Any] = dict(key.as_dict(private=True))
        data["kid"] = key.kid
        return json.dumps(data)

    def make_ec() -> str:
        key = ECKey.generate_key("P-256", private=True, auto_kid=True)
        data: dict[str, Any] = dict(key.as_dict(private=True))
        data["kid"] = key.kid
        return json.dumps(data)

    stored = json.loads(db.setting_or_create(_SETTING, make))
    stored_ec = json.loads(db.setting_or_create(_EC_SETTING, make_ec))
    return SigningKey(RSAKey.import_key(stored), ECKey.import_key(stored_ec))
