# SPDX-License-Identifier: Apache-2.0
"""Token exchange, refresh and id_token validation for a confidential SMART client.

SMART App Launch 2.2, "Obtain access token" and "Refresh access token":
https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#obtain-access-token

    "If the client is confidential, it SHALL authenticate ... client_secret_basic ... or
    private_key_jwt."  "refresh_token: ... If present, the app should discard any previous
    refresh_token associated with this launch and replace it with this new value."

The HTTP exchange runs on authlib's ``OAuth2Session``; the ``private_key_jwt`` assertion is signed
by :func:`smart_launch.keys.client_assertion` because authlib's defaults do not meet SMART.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urljoin

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT

from .errors import TokenRequestError
from .errors import UpstreamUnavailable
from .http import configure_session
from .keys import ClientKeys
from .keys import client_assertion
from .scopes import ScopeSet

__all__ = [
    "ClientAuth",
    "ClientSecretBasic",
    "PrivateKeyJwtAuth",
    "TokenResponse",
    "exchange_code",
    "refresh",
]


@dataclass(frozen=True)
class ClientSecretBasic:
    """``client_secret_basic``: HTTP Basic with the client id and secret; no id in the body."""

    client_id: str
    client_secret: str = field(repr=False)
    method: str = "client_secret_basic"


@dataclass(frozen=True)
class PrivateKeyJwtAuth:
    """``private_key_jwt`` with RS384 or ES384."""

    client_id: str
    keys: ClientKeys = field(repr=False)
    alg: str = "RS384"
    method: str = "private_key_jwt"


ClientAuth = ClientSecretBasic | PrivateKeyJwtAuth


class _SmartPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """authlib hook that signs with :func:`client_assertion` (fresh ``jti``, ``kid``, 5 min)."""

    def __init__(self, auth: PrivateKeyJwtAuth) -> None:
        super().__init__(alg=auth.alg)
        self._auth = auth

    def sign(self, auth: Any, token_endpoint: str) -> str:  # noqa: ARG002
        return client_assertion(
            self._auth.keys,
            client_id=self._auth.client_id,
            token_endpoint=token_endpoint,
            alg=self._auth.alg,
        )


@dataclass(frozen=True)
class TokenResponse:
    """A validated token response.  Never log or render an instance."""

    access_token: str = field(repr=False)
    expires_at: float
    scope: ScopeSet
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    patient: str | None = None
    encounter: str | None = None
    need_patient_banner: bool = False
    smart_style_url: str | None = None
    app_context: str | None = field(default=None, repr=False)
    """``appContext``: a string the EHR passes through from the launch (CDS Hooks 2.0, "Link")."""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        current = time.time() if now is None else now
        return self.expires_at - current <= seconds


def _session(auth: ClientAuth) -> OAuth2Session:
    if isinstance(auth, ClientSecretBasic):
        oauth = OAuth2Session(
            client_id=auth.client_id,
            client_secret=auth.client_secret,
            token_endpoint_auth_method="client_secret_basic",
        )
    else:
        oauth = OAuth2Session(
            client_id=auth.client_id, token_endpoint_auth_method="private_key_jwt"
        )
        oauth.register_client_auth_method(_SmartPrivateKeyJWT(auth))
    configure_session(oauth)
    return oauth


def _parse(
    data: dict[str, Any], *, requested: ScopeSet, previous_refresh: str | None, base: str
) -> TokenResponse:
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenRequestError("The EHR's token response had no access token.")
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenRequestError("The EHR issued a token of an unsupported type.")
    try:
        expires_in = float(data.get("expires_in", 300))
    except (TypeError, ValueError) as exc:
        raise TokenRequestError("The EHR's token response has a malformed expires_in.") from exc
    scope_value = data.get("scope")
    # RFC 6749 section 5.1: scope is OPTIONAL "if identical to the scope requested".
    scope = ScopeSet.parse(scope_value) if isinstance(scope_value, str) else requested
    refresh_token = data.get("refresh_token")
    style = data.get("smart_style_url")
    known = {
        "access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token",
        "patient", "encounter", "need_patient_banner", "smart_style_url", "expires_at",
        "appContext",
    }  # fmt: skip
    return TokenResponse(
        access_token=access,
        expires_at=time.time() + expires_in,
        scope=scope,
        refresh_token=refresh_token if isinstance(refresh_token, str) else previous_refresh,
        id_token=data.get("id_token") if isinstance(data.get("id_token"), str) else None,
        patient=_string_or_none(data.get("patient")),
        encounter=_string_or_none(data.get("encounter")),
        need_patient_banner=data.get("need_patient_banner") is True,
        smart_style_url=urljoin(base, style) if isinstance(style, str) and style else None,
        app_context=_string_or_none(data.get("appContext")),
        extra={key: value for key, value in data.items() if key not in known},
    )


def _string_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _call(action: str, run: Any) -> dict[str, Any]:
    try:
        result = run()
    except OAuthError as exc:
        code = exc.error or "error"
        raise TokenRequestError(f"The EHR refused the {action} ({code}).") from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 500
        if status < 500:
            raise TokenRequestError(f"The EHR refused the {action} (HTTP {status}).") from exc
        raise UpstreamUnavailable from exc
    except requests.RequestException as exc:
        raise UpstreamUnavailable from exc
    except (ValueError, TypeError) as exc:
        raise TokenRequestError(f"The EHR's {action} answer was unusable.") from exc
    if not isinstance(result, dict):
        raise TokenRequestError(f"The EHR's {action} answer was not a JSON object.")
    return dict(result)


def exchange_code(
    *,
    token_endpoint: str,
    auth: ClientAuth,
    code: str,
    code_verifier: str,
    redirect_uri: str,
    requested: ScopeSet,
) -> TokenResponse:
    """Exchange an authorization code (with its PKCE verifier) for tokens.

    :raises TokenRequestError: when the EHR refuses or answers with an unusable token.
    :raises UpstreamUnavailable: when the EHR cannot be reached.
    """
    oauth = _session(auth)
    data = _call(
        "token request",
        lambda: oauth.fetch_token(
            token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
        ),
    )
    return _parse(data, requested=requested, previous_refresh=None, base=token_endpoint)


def refresh(
    *,
    token_endpoint: str,
    auth: ClientAuth,
    refresh_token: str,
    current_scope: ScopeSet,
) -> TokenResponse:
    """Use ``refresh_token`` once; the answer's refresh token (if any) replaces it.

    :raises TokenRequestError: when the EHR refuses (for example a reused refresh token).
    """
    oauth = _session(auth)
    data = _call(
        "token refresh",
        lambda: oauth.refresh_token(token_endpoint, refresh_token=refresh_token),
    )
    return _parse(
        data, requested=current_scope, previous_refresh=refresh_token, base=token_endpoint
    )
