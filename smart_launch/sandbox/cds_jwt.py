# SPDX-License-Identifier: Apache-2.0
"""The JWT the EHR sends with every call to a CDS service, and the key set that checks it.

CDS Hooks 2.0, "Trusting CDS Clients" (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients):
each request carries ``Authorization: Bearer <JWT>``; the header names ``alg``, ``kid``,
``typ: JWT`` and the ``jku`` where the EHR publishes its keys; the claims are ``iss`` (the
EHR), ``aud`` (the CDS service endpoint called), ``exp``, ``iat`` and a unique ``jti``.  The
JWT "SHALL NOT" use ``none`` or a symmetric algorithm; ES384 is recommended.  The P-384 key
is kept in the database, so a restart keeps the ``kid`` services may have cached.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

if TYPE_CHECKING:
    from .database import Database

__all__ = ["CDS_JWT_ALG", "CDS_JWT_LIFETIME", "CdsSigningKey", "load_cds_key"]

CDS_JWT_ALG = "ES384"
CDS_JWT_LIFETIME = 300
"""Seconds from ``iat`` to ``exp`` (five minutes)."""
_SETTING = "cds_signing_jwk"


class CdsSigningKey:
    """The EHR's P-384 key for CDS Hooks JWTs."""

    def __init__(self, key: ECKey) -> None:
        self.key = key
        self.kid = str(key.kid)

    @classmethod
    def generate(cls) -> CdsSigningKey:
        """A fresh P-384 key with a thumbprint ``kid``."""
        return cls(ECKey.generate_key("P-384", private=True, auto_kid=True))

    def jwks(self) -> dict[str, Any]:
        """``{"keys": [public JWK]}`` as published at ``R/cds/jwks.json``."""
        public: dict[str, Any] = dict(self.key.as_dict(private=False))
        public.update({"kid": self.kid, "use": "sig", "alg": CDS_JWT_ALG})
        return {"keys": [public]}

    def sign(self, *, issuer: str, jku: str, audience: str, now: int | None = None) -> str:
        """A JWT for one call to ``audience`` (the endpoint URL, exactly as called)."""
        issued = int(time.time()) if now is None else now
        header = {"alg": CDS_JWT_ALG, "kid": self.kid, "typ": "JWT", "jku": jku}
        claims = {
            "iss": issuer,
            "aud": audience,
            "iat": issued,
            "exp": issued + CDS_JWT_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(header, claims, self.key, algorithms=[CDS_JWT_ALG])


def load_cds_key(db: Database) -> CdsSigningKey:
    """Load the key from ``db``, generating and storing it on first use."""

    def make() -> str:
        key = CdsSigningKey.generate().key
        data: dict[str, Any] = dict(key.as_dict(private=True))
        data["kid"] = key.kid
        return json.dumps(data)

    stored = json.loads(db.setting_or_create(_SETTING, make))
    return CdsSigningKey(ECKey.import_key(stored))
