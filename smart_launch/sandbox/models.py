# SPDX-License-Identifier: Apache-2.0
"""Records of the authorization server: launches, authorization codes and tokens.

The code and token records implement the duck-typed interfaces authlib's grants call
(``AuthorizationCodeMixin``, OpenID Connect's ``get_nonce``/``get_auth_time`` and
``TokenMixin``); secrets themselves are never kept, only their SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "CODE_LIFETIME",
    "LAUNCH_LIFETIME",
    "OFFLINE_REFRESH_LIFETIME",
    "ONLINE_REFRESH_LIFETIME",
    "AuthorizationCodeRecord",
    "HasClientId",
    "LaunchRecord",
    "Subject",
    "TokenRecord",
    "secret_hash",
]

CODE_LIFETIME = 60
"""Seconds an authorization code can be exchanged (RFC 6749 section 4.1.2: "short")."""
LAUNCH_LIFETIME = 600
"""Seconds an EHR launch id stays usable."""
OFFLINE_REFRESH_LIFETIME = 30 * 24 * 3600
ONLINE_REFRESH_LIFETIME = 12 * 3600


def secret_hash(secret: str) -> str:
    """SHA-256 hex digest under which a code or token is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class HasClientId(Protocol):
    """What authlib passes as ``client``."""

    def get_client_id(self) -> str: ...


@dataclass(frozen=True)
class Subject:
    """The user an authorization is for, with its SMART launch context.

    ``app_context`` is the EHR launch's ``appContext``; it reaches only the first token
    response of the launch, never a refreshed one.
    """

    user_id: str
    patient: str | None = None
    encounter: str | None = None
    app_context: str | None = None


@dataclass(frozen=True)
class LaunchRecord:
    """An EHR launch created by the chart page (SMART App Launch, "EHR launch")."""

    id: str
    client_id: str
    user_id: str
    patient: str
    encounter: str | None
    created_at: float
    app_context: str | None = None

    def is_live(self, now: float | None = None) -> bool:
        """Whether the launch is younger than :data:`LAUNCH_LIFETIME`."""
        current = time.time() if now is None else now
        return current - self.created_at < LAUNCH_LIFETIME


@dataclass(frozen=True)
class AuthorizationCodeRecord:
    """An issued authorization code, bound to client, redirect URI and PKCE challenge."""

    code_hash: str
    family: str
    client_id: str
    redirect_uri: str
    scope: str
    subject: Subject
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    created_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.created_at)

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


@dataclass(frozen=True)
class TokenRecord:
    """An access token, its optional refresh token and the context both carry."""

    access_hash: str
    refresh_hash: str | None
    family: str
    client_id: str
    subject: Subject | None
    scope: str
    issued_at: float
    expires_at: float
    refresh_expires_at: float | None
    refresh_used: bool
    revoked: bool

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.scope.split())

    @property
    def patient(self) -> str | None:
        return None if self.subject is None else self.subject.patient

    @property
    def user_id(self) -> str | None:
        return None if self.subject is None else self.subject.user_id

    def check_client(self, client: HasClientId) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - self.issued_at)

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked
