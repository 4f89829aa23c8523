# SPDX-License-Identifier: Apache-2.0
"""Public pages name no practice and fetch nothing; standalone sign-in has a link per practice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.registry import get_service
from plugin.tenants.services import TenantRegistration
from smart_launch.discovery import ConfigurationCache
from smart_launch.sandbox.server import RunningSandbox
from tests.support.servers import Quietline
from tests.support.walker import Walker

OTHERS = (
    ("harbour", "Harbour Street Counselling", "https://ehr.harbour-street.example"),
    ("northside", "Northside Family Practice", "https://fhir.northside.example"),
)


def _register_others(quietline: Quietline) -> None:
    for tenant_id, name, origin in OTHERS:
        quietline.tenants.register(
            TenantRegistration(
                id=tenant_id,
                name=name,
                iss=f"{origin}/fhir",
                client_id="quietline",
                auth_method="private_key_jwt",
                scope="launch openid fhirUser patient/Patient.r",
                frame_origins=(origin,),
            )
        )


def _discovery_fetches(sandbox: RunningSandbox) -> list[str]:
    return [r.path for r in sandbox.request_log if ".well-known/smart-configuration" in r.path]


def _form_action(csp: str) -> str:
    match = re.search(r"form-action ([^;]*)", csp)
    assert match is not None, csp
    return match.group(1)


def test_public_pages_name_no_practice_and_fetch_nothing_on_a_cold_cache(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _register_others(quietline)
    get_service(ConfigurationCache, quietline.app).clear()
    sandbox.request_log.clear()
    secrets = [name for _, name, _ in OTHERS] + [origin for _, _, origin in OTHERS]
    secrets += ["Sandbox EHR", sandbox.url, "sandbox", "harbour", "northside"]

    for path in ("/", "/standalone"):
        page = walker.get(f"{quietline.url}{path}")

        assert page.status_code == 200
        assert "use the Quietline sign-in link your practice gave you" in page.text
        body = page.text + page.headers["Content-Security-Policy"]
        for secret in secrets:
            assert secret not in body, (path, secret)
        assert _form_action(page.headers["Content-Security-Policy"]) == "'self'"
    assert _discovery_fetches(sandbox) == []
    assert len(sandbox.request_log) == 0


def test_an_unknown_practice_link_is_a_plain_404(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _register_others(quietline)
    sandbox.request_log.clear()

    page = walker.get(f"{quietline.url}/standalone/no-such-practice")
    started = walker.post(f"{quietline.url}/standalone/no-such-practice", {"csrf": "x"})

    assert page.status_code == 404
    assert "There is no page here." in page.text
    assert started.status_code in {400, 404}
    for _, name, origin in OTHERS:
        assert name not in page.text
        assert origin not in page.text
    assert len(sandbox.request_log) == 0


def test_a_practice_link_allows_only_its_own_authorization_server(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _register_others(quietline)

    page = walker.get(f"{quietline.url}/standalone/sandbox")

    assert page.status_code == 200
    assert "Sandbox EHR" in page.text
    assert _form_action(page.headers["Content-Security-Policy"]) == f"'self' {sandbox.url}"
    for _, name, origin in OTHERS:
        assert name not in page.text
        assert origin not in page.headers["Content-Security-Policy"]


def test_a_practice_registered_without_a_kept_configuration_is_discovered_once(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    assert quietline.tenants.by_id("sandbox").smart_configuration is None
    sandbox.request_log.clear()

    walker.get(f"{quietline.url}/standalone/sandbox")
    get_service(ConfigurationCache, quietline.app).clear()
    walker.get(f"{quietline.url}/standalone/sandbox")

    kept = quietline.tenants.by_id("sandbox").smart_configuration
    assert kept is not None
    assert kept["authorization_endpoint"] == sandbox.authorization_endpoint
    assert "S256" in kept["code_challenge_methods_supported"]
    assert len(_discovery_fetches(sandbox)) == 1


def test_standalone_sign_in_starts_from_the_kept_configuration(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    walker.get(f"{quietline.url}/standalone/sandbox")  # keeps the configuration
    get_service(ConfigurationCache, quietline.app).clear()
    sandbox.request_log.clear()
    page = walker.get(f"{quietline.url}/standalone/sandbox")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None

    login = walker.post(f"{quietline.url}/standalone/sandbox", {"csrf": token.group(1)})

    assert login.status_code == 200
    assert login.url.startswith(sandbox.authorization_endpoint)
    assert _discovery_fetches(sandbox) == []
    (authorize,) = sandbox.request_log.matching("/auth/authorize")
    assert authorize.args["code_challenge_method"] == "S256"
    assert authorize.args["aud"] == sandbox.fhir_base


@pytest.fixture
def cli(quietline: Quietline, tmp_path: Path, database_url: str) -> CliRunner:
    """``quietline`` commands on the running app's instance folder and database."""
    return CliRunner(
        env={
            "PLUGIN_ENV": "development",
            "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "PLUGIN_DATABASE_URL": None,
            "PLUGIN_SECRET_KEY": None,
            "PLUGIN_TOKEN_KEY": None,
            "PLUGIN_CLIENT_KEYS": None,
            "PLUGIN_PUBLIC_URL": None,
        }
    )


def test_tenant_add_keeps_the_configuration_and_refresh_renews_it(
    quietline: Quietline, sandbox: RunningSandbox, cli: CliRunner
) -> None:
    assert quietline.tenants.by_id("sandbox").smart_configuration is None
    added = cli.invoke(
        main,
        [
            "tenant",
            "add",
            "--id",
            "sandbox",
            "--name",
            "Sandbox EHR",
            "--iss",
            sandbox.fhir_base + "/",
            "--client-id",
            "quietline",
            "--frame-origin",
            sandbox.url,
        ],
        catch_exceptions=False,
    )
    assert added.exit_code == 0, added.output
    quietline.tenants.invalidate()
    first = quietline.tenants.by_id("sandbox")
    assert first.smart_configuration is not None
    assert first.smart_configuration["token_endpoint"].startswith(sandbox.url)
    assert first.configuration_checked_at is not None
    sandbox.request_log.clear()

    refreshed = cli.invoke(main, ["tenant", "refresh", "sandbox"], catch_exceptions=False)

    assert refreshed.exit_code == 0, refreshed.output
    quietline.tenants.invalidate()
    second = quietline.tenants.by_id("sandbox")
    assert second.configuration_checked_at is not None
    assert second.configuration_checked_at > first.configuration_checked_at
    assert len(_discovery_fetches(sandbox)) == 1
    unknown = cli.invoke(main, ["tenant", "refresh", "nobody"])
    assert unknown.exit_code != 0
    assert "no tenant nobody" in unknown.output
