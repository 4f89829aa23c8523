# SPDX-License-Identifier: Apache-2.0
"""Configuration of the embedded EHR: registered clients, runtime faults and server settings.

Client metadata names follow OAuth 2.0 Dynamic Client Registration (RFC 7591 section 2):
``token_endpoint_auth_method`` is called ``auth_method`` here, ``jwks``/``jwks_uri``,
``redirect_uris``, ``grant_types`` and ``scope`` keep their RFC names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal
from typing import cast

__all__ = [
    "AUTH_METHODS",
    "FHIR_USER_TYPES",
    "GRANT_TYPES",
    "ID_TOKEN_ALGS",
    "ID_TOKEN_FAULTS",
    "ClientRegistration",
    "ConfigError",
    "Faults",
    "SandboxConfig",
    "load_clients",
]

AuthMethod = Literal["client_secret_basic", "private_key_jwt"]
AUTH_METHODS: tuple[str, ...] = ("client_secret_basic", "private_key_jwt")
GRANT_TYPES: tuple[str, ...] = ("authorization_code", "refresh_token", "client_credentials")
ID_TOKEN_FAULTS: tuple[str, ...] = ("signature", "aud", "iss", "exp")
FHIR_USER_TYPES: tuple[str, ...] = ("Practitioner", "PractitionerRole", "Person")
ID_TOKEN_ALGS: tuple[str, ...] = ("RS256", "ES256")


class ConfigError(ValueError):
    """A client registration or the sandbox configuration is unusable."""


@dataclass
class Faults:
    """Misbehaviour switched on at runtime by tests; every attribute defaults to off.

    The object is shared by reference between the configuration and the running app, so a test
    can flip ``running.config.faults.fhir_down = True`` between two requests.
    """

    discovery_without_s256: bool = False
    """``code_challenge_methods_supported`` omits ``S256``."""
    discovery_offers_plain: bool = False
    """``code_challenge_methods_supported`` also lists ``plain``."""
    id_token_fault: str | None = None
    """One of ``signature``, ``aud``, ``iss``, ``exp``: the id_token is broken that way."""
    authorize_error: str | None = None
    """The authorization endpoint answers ``error=<value>`` instead of issuing a code."""
    fhir_down: bool = False
    """Every ``/fhir`` request answers 503 with an OperationOutcome."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "id_token_fault" and value is not None and value not in ID_TOKEN_FAULTS:
            raise ConfigError(f"id_token_fault must be one of {', '.join(ID_TOKEN_FAULTS)}.")
        super().__setattr__(name, value)

    def reset(self) -> None:
        """Switch every fault off."""
        self.discovery_without_s256 = False
        self.discovery_offers_plain = False
        self.id_token_fault = None
        self.authorize_error = None
        self.fhir_down = False


@dataclass(frozen=True)
class ClientRegistration:
    """One registered SMART client.

    :param auth_method: ``client_secret_basic`` or ``private_key_jwt``; the token endpoint
        accepts only this method for the client.
    :param scope: space-separated scopes the client may be granted; a grant is the requested
        scopes that this set allows (``patient/*.cruds`` allows ``patient/Appointment.rs``).
    :param launch_url: the app's EHR launch URL, loaded in the chart page's iframe.
    """

    client_id: str
    auth_method: AuthMethod = "client_secret_basic"
    client_secret: str | None = None
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    redirect_uris: tuple[str, ...] = ()
    launch_url: str | None = None
    scope: str = ""
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ConfigError("A client registration needs a client_id.")
        if self.auth_method not in AUTH_METHODS:
            raise ConfigError(f"Client {self.client_id}: unsupported auth_method.")
        if self.auth_method == "client_secret_basic" and not self.client_secret:
            raise ConfigError(f"Client {self.client_id}: client_secret_basic needs a secret.")
        if self.auth_method == "private_key_jwt" and not (self.jwks or self.jwks_uri):
            raise ConfigError(f"Client {self.client_id}: private_key_jwt needs jwks or jwks_uri.")
        unknown = [grant for grant in self.grant_types if grant not in GRANT_TYPES]
        if unknown:
            raise ConfigError(f"Client {self.client_id}: unsupported grant types {unknown}.")

    @property
    def allowed_scopes(self) -> tuple[str, ...]:
        """The registered scopes as a tuple."""
        return tuple(self.scope.split())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientRegistration:
        """Build a registration from a JSON object with the field names of this class.

        :raises ConfigError: for a missing or mistyped field.
        """
        known = {
            "client_id",
            "auth_method",
            "client_secret",
            "jwks",
            "jwks_uri",
            "redirect_uris",
            "launch_url",
            "scope",
            "grant_types",
        }
        extra = sorted(set(data) - known)
        if extra:
            raise ConfigError(f"Unknown client registration fields: {', '.join(extra)}.")
        try:
            client_id = str(data["client_id"])
        except KeyError:
            raise ConfigError("A client registration needs a client_id.") from None
        jwks = data.get("jwks")
        if jwks is not None and not isinstance(jwks, dict):
            raise ConfigError(f"Client {client_id}: jwks must be a JSON object.")
        return cls(
            client_id=client_id,
            auth_method=cast("AuthMethod", str(data.get("auth_method", "client_secret_basic"))),
            client_secret=_optional_str(data.get("client_secret")),
            jwks=jwks,
            jwks_uri=_optional_str(data.get("jwks_uri")),
            redirect_uris=_str_tuple(data.get("redirect_uris", []), "redirect_uris"),
            launch_url=_optional_str(data.get("launch_url")),
            scope=str(data.get("scope", "")),
            grant_types=_str_tuple(
                data.get("grant_types", ["authorization_code", "refresh_token"]), "grant_types"
            ),
        )


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _str_tuple(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(f"Client field {name} must be a list of strings.")
    return tuple(str(item) for item in value)


def load_clients(path: Path) -> list[ClientRegistration]:
    """Read a JSON file holding a list of client registration objects.

    :raises ConfigError: when the file cannot be read or a registration is invalid.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Client file {path} could not be read: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ConfigError(f"Client file {path} must hold a JSON list of objects.")
    return [ClientRegistration.from_dict(item) for item in data]


@dataclass
class SandboxConfig:
    """Settings of one sandbox instance.

    :param public_url: the root URL ``R`` as browsers and apps reach it; the issuer is ``R``
        and the FHIR base ``R/fhir``. :func:`~smart_launch.sandbox.server.start` fills it in when
        it binds port 0.
    :param db_path: SQLite file holding resources, grants and the signing key.
    :param require_if_match: answer 428 to an update of an existing resource without If-Match.
    :param cds_services: base URLs of CDS services (``https://app.example/cds-services``) the
        scheduling page calls on Book and Change.  Read on every request, so a test can set it
        on a running sandbox once the service's URL is known.
    :param cds_client_id: the OAuth client id the CDS services are known by; the
        ``fhirAuthorization`` token is issued to it and named as its ``subject``.
    :param refresh_requires_offline: issue a refresh token only when ``offline_access`` is
        granted (``online_access`` alone gets none), as some EHRs do.
    :param fhir_user_type: the ``fhirUser`` of the id_token names the user's ``Practitioner``
        (absolute URL, the default), their ``PractitionerRole`` or their ``Person``; the last two
        are given relative to the FHIR base (``PractitionerRole/role-therapist``).
    :param id_token_alg: ``RS256`` (default) or ``ES256`` (a P-256 key) for id_tokens.

    PKCE (S256 only), exact redirect URIs and single-use codes are always enforced.
    """

    public_url: str = ""
    db_path: Path = field(default_factory=lambda: Path("sandbox.sqlite3"))
    clients: list[ClientRegistration] = field(default_factory=list)
    access_token_lifetime: int = 3600
    require_if_match: bool = False
    faults: Faults = field(default_factory=Faults)
    cds_services: tuple[str, ...] = ()
    cds_client_id: str = "quietline"
    refresh_requires_offline: bool = False
    fhir_user_type: str = "Practitioner"
    id_token_alg: str = "RS256"

    def __post_init__(self) -> None:
        if self.fhir_user_type not in FHIR_USER_TYPES:
            raise ConfigError(f"fhir_user_type must be one of {', '.join(FHIR_USER_TYPES)}.")
        if self.id_token_alg not in ID_TOKEN_ALGS:
            raise ConfigError(f"id_token_alg must be one of {', '.join(ID_TOKEN_ALGS)}.")

    @property
    def root(self) -> str:
        """``public_url`` without a trailing slash."""
        return self.public_url.rstrip("/")

    @property
    def fhir_base(self) -> str:
        """``R/fhir``."""
        return self.root + "/fhir"

    @property
    def token_endpoint(self) -> str:
        return self.root + "/auth/token"

    @property
    def authorization_endpoint(self) -> str:
        return self.root + "/auth/authorize"

    @property
    def jwks_uri(self) -> str:
        return self.root + "/.well-known/jwks.json"

    @property
    def smart_style_url(self) -> str:
        return self.root + "/smart-style.json"

    @property
    def cds_jwks_uri(self) -> str:
        """``R/cds/jwks.json``: the key set of the JWTs the EHR sends to CDS services."""
        return self.root + "/cds/jwks.json"

    def client(self, client_id: str | None) -> ClientRegistration | None:
        """The registration of ``client_id``, if any."""
        for client in self.clients:
            if client.client_id == client_id:
                return client
        return None
