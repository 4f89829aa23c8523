# SPDX-License-Identifier: Apache-2.0
"""Discovery: SMART configuration (and its faults), OpenID configuration, JWKS, metadata."""

from __future__ import annotations

import pytest
import requests

from smart_launch.discovery import SmartConfiguration
from smart_launch.errors import DiscoveryError
from smart_launch.sandbox import RunningSandbox
from smart_launch.sandbox import SandboxConfig
from smart_launch.sandbox import start


def _smart_config(sandbox: RunningSandbox, accept: str = "application/json") -> requests.Response:
    return requests.get(
        sandbox.fhir_base + "/.well-known/smart-configuration",
        headers={"Accept": accept},
        timeout=5,
    )


def test_smart_configuration_has_absolute_endpoints_and_capabilities(
    sandbox: RunningSandbox,
) -> None:
    response = _smart_config(sandbox)
    assert response.status_code == 200
    doc = response.json()
    root = sandbox.url
    assert doc["issuer"] == root
    assert doc["jwks_uri"] == root + "/.well-known/jwks.json"
    assert doc["authorization_endpoint"] == root + "/auth/authorize"
    assert doc["token_endpoint"] == root + "/auth/token"
    assert doc["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert doc["response_types_supported"] == ["code"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "private_key_jwt",
    ]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    for capability in (
        "launch-ehr",
        "launch-standalone",
        "client-confidential-asymmetric",
        "context-ehr-encounter",
        "sso-openid-connect",
        "permission-v1",
        "permission-v2",
    ):
        assert capability in doc["capabilities"]
    assert "launch/patient" in doc["scopes_supported"]


def test_smart_configuration_is_json_whatever_the_accept_header(sandbox: RunningSandbox) -> None:
    response = _smart_config(sandbox, accept="text/html")
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["issuer"] == sandbox.url


def test_app_side_validation_accepts_the_sandbox(sandbox: RunningSandbox) -> None:
    config = SmartConfiguration(_smart_config(sandbox).json(), fhir_base=sandbox.fhir_base)
    config.validate_for_launch()
    config.validate_for_backend()


def test_fault_discovery_without_s256(sandbox: RunningSandbox) -> None:
    sandbox.faults.discovery_without_s256 = True
    doc = _smart_config(sandbox).json()
    assert "S256" not in doc["code_challenge_methods_supported"]
    config = SmartConfiguration(doc, fhir_base=sandbox.fhir_base)
    with pytest.raises(DiscoveryError):
        config.validate_code_challenge_methods_supported()


def test_fault_discovery_offers_plain(sandbox: RunningSandbox) -> None:
    sandbox.faults.discovery_offers_plain = True
    assert _smart_config(sandbox).json()["code_challenge_methods_supported"] == ["S256", "plain"]
    sandbox.faults.reset()
    assert _smart_config(sandbox).json()["code_challenge_methods_supported"] == ["S256"]


def test_openid_configuration_and_jwks(sandbox: RunningSandbox) -> None:
    oidc = requests.get(sandbox.url + "/.well-known/openid-configuration", timeout=5).json()
    assert oidc["issuer"] == sandbox.url
    assert oidc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert oidc["token_endpoint"] == sandbox.token_endpoint
    jwks = requests.get(oidc["jwks_uri"], timeout=5).json()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["kid"]
    assert "d" not in key, "the private exponent must never be published"


def test_signing_key_survives_a_restart(sandbox: RunningSandbox) -> None:
    kid = requests.get(sandbox.url + "/.well-known/jwks.json", timeout=5).json()["keys"][0]["kid"]
    config = sandbox.config
    sandbox.stop()
    again = SandboxConfig(db_path=config.db_path, clients=config.clients)
    with start(again) as restarted:
        jwks = requests.get(restarted.url + "/.well-known/jwks.json", timeout=5).json()
    assert jwks["keys"][0]["kid"] == kid


def test_smart_style_document(sandbox: RunningSandbox) -> None:
    style = requests.get(sandbox.url + "/smart-style.json", timeout=5).json()
    assert style["color_background"].startswith("#")
    assert "font_family_body" in style


def test_capability_statement_needs_no_token_and_names_oauth_uris(
    sandbox: RunningSandbox,
) -> None:
    response = requests.get(sandbox.fhir_base + "/metadata", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    oauth = rest["security"]["extension"][0]
    assert oauth["url"].endswith("/oauth-uris")
    uris = {item["url"]: item["valueUri"] for item in oauth["extension"]}
    assert uris == {"authorize": sandbox.authorization_endpoint, "token": sandbox.token_endpoint}
    types = {resource["type"] for resource in rest["resource"]}
    assert {"Patient", "Appointment", "Task", "Provenance", "AuditEvent"} <= types
    appointment = next(r for r in rest["resource"] if r["type"] == "Appointment")
    assert {"name": "date", "type": "date"} in appointment["searchParam"]
