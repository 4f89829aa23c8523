# SPDX-License-Identifier: Apache-2.0
"""Discovery documents: SMART configuration, OpenID configuration, JWKS and the style doc.

SMART App Launch 2.2, "Conformance" (https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html):
``[base]/.well-known/smart-configuration`` is JSON "regardless of Accept" with absolute URLs;
"code_challenge_methods_supported ... SHALL include S256 ... SHALL NOT include plain" (the two
discovery faults break exactly this).  OpenID Connect Discovery 1.0 section 3 for
``/.well-known/openid-configuration``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from .state import SandboxState
from .state import get_state

__all__ = ["CAPABILITIES", "SCOPES_SUPPORTED", "bp", "smart_configuration"]

bp = Blueprint("sandbox_wellknown", __name__)

CAPABILITIES: tuple[str, ...] = (
    "launch-ehr",
    "launch-standalone",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "context-banner",
    "context-style",
    "sso-openid-connect",
    "permission-online",
    "permission-offline",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
)

SCOPES_SUPPORTED: tuple[str, ...] = (
    "openid",
    "fhirUser",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
    "patient/*.cruds",
    "patient/*.rs",
    "patient/*.read",
    "patient/*.write",
    "user/*.cruds",
    "user/*.rs",
    "user/*.read",
    "user/*.write",
    "system/*.cruds",
    "system/*.rs",
    "system/*.read",
)

_SMART_STYLE: dict[str, Any] = {
    "color_background": "#f6f7f9",
    "color_error": "#9b1c1c",
    "color_highlight": "#1d4f91",
    "color_modal_backdrop": "#1f2933",
    "color_success": "#1e6b3a",
    "color_text": "#1f2933",
    "dim_border_radius": "4px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, sans-serif",
    "font_family_heading": "system-ui, sans-serif",
}


def _pkce_methods(state: SandboxState) -> list[str]:
    faults = state.config.faults
    methods = [] if faults.discovery_without_s256 else ["S256"]
    if faults.discovery_offers_plain:
        methods.append("plain")
    return methods


def smart_configuration(state: SandboxState) -> dict[str, Any]:
    """The SMART configuration document, with the discovery faults applied."""
    return {
        "issuer": state.config.root,
        "jwks_uri": state.config.jwks_uri,
        "authorization_endpoint": state.config.authorization_endpoint,
        "token_endpoint": state.config.token_endpoint,
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types_supported": ["code"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "code_challenge_methods_supported": _pkce_methods(state),
        "scopes_supported": list(SCOPES_SUPPORTED),
        "capabilities": list(CAPABILITIES),
    }


def _json(document: dict[str, Any]) -> Response:
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/fhir/.well-known/smart-configuration")
def smart_configuration_view() -> Response:
    """``[base]/.well-known/smart-configuration`` (JSON whatever the Accept header says)."""
    return _json(smart_configuration(get_state()))


@bp.get("/.well-known/openid-configuration")
def openid_configuration_view() -> Response:
    """OpenID Provider metadata for id_token validation."""
    state = get_state()
    return _json(
        {
            "issuer": state.config.root,
            "jwks_uri": state.config.jwks_uri,
            "authorization_endpoint": state.config.authorization_endpoint,
            "token_endpoint": state.config.token_endpoint,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [get_state().config.id_token_alg],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "code_challenge_methods_supported": _pkce_methods(state),
            "scopes_supported": list(SCOPES_SUPPORTED),
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser", "name"],
        }
    )


@bp.get("/.well-known/jwks.json")
def jwks_view() -> Response:
    """The sandbox's public id_token signing key."""
    state = get_state()
    return _json(state.signing_key.jwks(include_ec=state.config.id_token_alg == "ES256"))


@bp.get("/cds/jwks.json")
def cds_jwks_view() -> Response:
    """The public key of the JWTs the EHR sends to CDS services (their ``jku``)."""
    return _json(get_state().cds_key.jwks())


@bp.get("/smart-style.json")
def smart_style_view() -> Response:
    """The style document named by ``smart_style_url`` (SMART "context-style")."""
    return _json(dict(_SMART_STYLE))
