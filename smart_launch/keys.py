# SPDX-License-Identifier: Apache-2.0
"""The app's signing keys and ``private_key_jwt`` client assertions.

SMART App Launch 2.2, "Client Authentication: Asymmetric (public key)":
https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html

    "The client SHALL support both RS384 and ES384 ... ``exp``: Expiration time integer for this
    authentication JWT, expressed in seconds since the Epoch. This time SHALL be no more than
    five minutes in the future. ``jti``: A nonce string value that uniquely identifies this
    authentication JWT."

authlib's ``PrivateKeyJWT`` defaults to RS256, ``exp = iat + 3600``, no ``kid`` and a ``jti`` kept
in a shared claims dict; this module signs the assertion itself so none of those can leak in.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from .errors import ClientAuthError

__all__ = [
    "ASSERTION_LIFETIME",
    "CLIENT_ASSERTION_TYPE",
    "SUPPORTED_ALGS",
    "ClientKeys",
    "client_assertion",
]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SUPPORTED_ALGS = ("RS384", "ES384")
ASSERTION_LIFETIME = 300
"""Seconds; the SMART maximum for ``exp - now``."""


class ClientKeys:
    """One RSA key for RS384 and one P-384 key for ES384, each with a ``kid``."""

    def __init__(self, key_set: KeySet) -> None:
        self._keys: dict[str, RSAKey | ECKey] = {}
        for key in key_set.keys:
            alg = key.get("alg")
            if alg in SUPPORTED_ALGS and key.is_private and isinstance(key, RSAKey | ECKey):
                self._keys[str(alg)] = key
        missing = [alg for alg in SUPPORTED_ALGS if alg not in self._keys]
        if missing:
            raise ClientAuthError(f"Client key set lacks a private key for {', '.join(missing)}.")

    @classmethod
    def generate(cls) -> ClientKeys:
        """Make a fresh RS384 (RSA 3072) and ES384 (P-384) key pair."""
        rsa = RSAKey.generate_key(3072, parameters={"alg": "RS384", "use": "sig"}, private=True)
        ec = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
        return cls(KeySet([rsa, ec]))

    @classmethod
    def from_jwks(cls, data: dict[str, Any]) -> ClientKeys:
        """Load from a private JWKS document."""
        return cls(KeySet.import_key_set(data))  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> ClientKeys:
        """Load a private JWKS file."""
        try:
            return cls.from_jwks(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, JoseError) as exc:
            raise ClientAuthError(f"Client key file {path.name} could not be read.") from exc

    @classmethod
    def load_or_create(cls, path: Path) -> ClientKeys:
        """Load ``path``, creating it with mode 0600 first when absent (embedded default)."""
        if not path.exists():
            keys = cls.generate()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(keys.private_jwks(), handle)
            return keys
        return cls.load(path)

    def key(self, alg: str) -> RSAKey | ECKey:
        """The private key for ``alg``."""
        try:
            return self._keys[alg]
        except KeyError:
            raise ClientAuthError(f"No client key for algorithm {alg}.") from None

    def kid(self, alg: str) -> str:
        """The ``kid`` published for ``alg``."""
        return str(self.key(alg).kid)

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS to publish at ``/.well-known/jwks.json``."""
        return {"keys": [self._public(key) for key in self._keys.values()]}

    def private_jwks(self) -> dict[str, Any]:
        """The private JWKS, for writing to the key file only."""
        return {"keys": [key.as_dict(private=True) for key in self._keys.values()]}

    @staticmethod
    def _public(key: RSAKey | ECKey) -> dict[str, Any]:
        data: dict[str, Any] = dict(key.as_dict(private=False))
        data.update(kid=key.kid, use="sig", alg=key.get("alg"), key_ops=["verify"])
        return data


def client_assertion(
    keys: ClientKeys,
    *,
    client_id: str,
    token_endpoint: str,
    alg: str = "RS384",
    now: int | None = None,
    lifetime: int = ASSERTION_LIFETIME,
) -> str:
    """Sign a SMART ``private_key_jwt`` client assertion.

    :param alg: ``RS384`` or ``ES384``.
    :param lifetime: seconds until ``exp``; capped at 300 as SMART requires.
    :raises ClientAuthError: for an unsupported algorithm.
    """
    if alg not in SUPPORTED_ALGS:
        raise ClientAuthError(f"Unsupported client assertion algorithm {alg}.")
    issued = int(time.time()) if now is None else now
    key = keys.key(alg)
    header = {"alg": alg, "kid": str(key.kid), "typ": "JWT"}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": issued,
        "exp": issued + min(lifetime, ASSERTION_LIFETIME),
        "jti": secrets.token_urlsafe(32),
    }
    return jwt.encode(header, claims, key, algorithms=[alg])
