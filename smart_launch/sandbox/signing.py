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

from joserfc.jwk import RSAKey

if TYPE_CHECKING:
    from .database import Database

__all__ = ["ID_TOKEN_ALG", "SigningKey", "load_signing_key"]

ID_TOKEN_ALG = "RS256"
_SETTING = "id_token_signing_jwk"


class SigningKey:
    """An RSA private key with its ``kid``."""

    def __init__(self, key: RSAKey) -> None:
        self.key = key
        self.kid = str(key.kid)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh 2048-bit RSA key with a thumbprint ``kid``."""
        return cls(RSAKey.generate_key(2048, private=True, auto_kid=True))

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK as published."""
        data = dict(self.key.as_dict(private=False))
        data.update({"kid": self.kid, "use": "sig", "alg": ID_TOKEN_ALG})
        return data

    def jwks(self) -> dict[str, Any]:
        """``{"keys": [public JWK]}``."""
        return {"keys": [self.public_jwk()]}


def load_signing_key(db: Database) -> SigningKey:
    """Load the key from ``db``, generating and storing it on first use."""

    def make() -> str:
        key = SigningKey.generate().key
        data: dict[str, Any] = dict(key.as_dict(private=True))
        data["kid"] = key.kid
        return json.dumps(data)

    stored = json.loads(db.setting_or_create(_SETTING, make))
    return SigningKey(RSAKey.import_key(stored))
