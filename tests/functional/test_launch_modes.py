# SPDX-License-Identifier: Apache-2.0
"""Full EHR launches against sandbox modes that behave like other SMART EHRs."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from plugin.content import CONTENT_VERSION
from plugin.demo import cds_client_options
from plugin.launch.scopes import DEFAULT_SCOPE
from plugin.launch.services import LaunchService
from plugin.registry import get_service
from smart_launch.sandbox.server import RunningSandbox
from tests.support.answers import FEAR_TEXT
from tests.support.forms import csrf
from tests.support.forms import textarea
from tests.support.launches import chart_launch
from tests.support.launches import register_secret_client
from tests.support.launches import relaunch_link
from tests.support.launches import session_notice
from tests.support.launches import sign_in_and_pick
from tests.support.servers import Quietline
from tests.support.walker import Walker

SECRET = "s3cret-for-tests-only"
DRAFT_TEXT = "draft words the clinician typed before the session ended"
OFFLINE_SCOPE = f"{DEFAULT_SCOPE} offline_access launch/patient"


@pytest.fixture
def sandbox_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {
        "extra_clients": (
            {
                "client_id": "basic-app",
                "auth_method": "client_secret_basic",
                "client_secret": SECRET,
                "scope": OFFLINE_SCOPE,
            },
        ),
    }
    options.update(getattr(request, "param", {}))
    return options


def _modes(**options: object) -> pytest.MarkDecorator:
    """Run the test against a sandbox started with ``options``."""
    return pytest.mark.parametrize("sandbox_options", [options], indirect=True)


def _register(quietline: Quietline, sandbox: RunningSandbox, **options: Any) -> None:
    register_secret_client(
        quietline,
        sandbox,
        "basic-app",
        SECRET,
        options={**cds_client_options(sandbox.url), **options},
    )


def _launch(walker: Walker, sandbox: RunningSandbox, user: str = "therapist") -> requests.Response:
    return chart_launch(walker, sandbox, "basic-app", user=user)


def _open(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker, **options: Any
) -> requests.Response:
    """Register the secret-authenticated client with ``options``, launch it and see the page."""
    _register(quietline, sandbox, **options)
    page = _launch(walker, sandbox)
    assert page.status_code == 200, page.text[:400]
    return page


def _live(quietline: Quietline, walker: Walker, url: str) -> Any:
    handle = url.split("/l/")[1].split("/", maxsplit=1)[0]
    cookie = walker.quietline_cookie(quietline.url)
    assert cookie is not None
    from plugin.crypto import lookup_hash  # noqa: PLC0415

    return get_service(LaunchService, quietline.app).open(handle, lookup_hash(cookie))


@_modes(fhir_user_type="PractitionerRole")
def test_relative_practitioner_role_user_gets_the_roles_of_that_role(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _register(quietline, sandbox)
    page = _launch(walker, sandbox, "frontdesk")
    assert page.status_code == 200, page.text[:400]
    live = _live(quietline, walker, page.url)
    assert live.context.fhir_user == f"{sandbox.fhir_base}/PractitionerRole/role-frontdesk"
    assert live.roles == ("front_desk",)


@_modes(fhir_user_type="Person")
def test_person_user_gets_the_roles_of_the_linked_practitioner(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = _open(quietline, sandbox, walker)
    live = _live(quietline, walker, page.url)
    assert live.context.fhir_user_type == "Person"
    assert live.roles == ("clinician",)


@_modes(fhir_user_type="PractitionerRole")
def test_unmapped_user_is_denied_with_what_the_admin_must_map(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    mapping = {"codes": {"urn:other|x": ["clinician"]}}
    _reregister(quietline, sandbox, mapping)
    page = _launch(walker, sandbox)

    assert page.status_code == 403
    assert 'data-error="role_not_mapped"' in page.text
    assert "PractitionerRole" in page.text
    assert "urn:quietline-sandbox:staff-role|therapist" in page.text
    assert "role-therapist" not in page.text  # no resource ids
    assert "Morgan" not in page.text


def _reregister(quietline: Quietline, sandbox: RunningSandbox, mapping: dict[str, Any]) -> None:
    from plugin.tenants.services import TenantRegistration  # noqa: PLC0415

    quietline.tenants.register(
        TenantRegistration(
            id="sandbox",
            name="Sandbox EHR",
            iss=sandbox.fhir_base,
            client_id="basic-app",
            auth_method="client_secret_basic",
            scope=DEFAULT_SCOPE,
            frame_origins=(sandbox.url,),
            role_mapping=mapping,
            client_secret=SECRET,
            options=cds_client_options(sandbox.url),
        )
    )


@_modes(id_token_alg="ES256")
def test_es256_id_tokens_are_accepted(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _register(quietline, sandbox)
    keys = walker.get(f"{sandbox.url}/.well-known/jwks.json").json()["keys"]
    assert {"RS256", "ES256"} == {key["alg"] for key in keys}
    page = _launch(walker, sandbox)
    assert page.status_code == 200, page.text[:400]
    assert _live(quietline, walker, page.url).roles == ("clinician",)


@_modes(refresh_requires_offline=True)
def test_offline_access_is_requested_when_the_tenant_allows_it(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = _open(quietline, sandbox, walker, offline_access=True)
    scope = sandbox.request_log.matching("/auth/authorize")[0].args["scope"].split()
    assert "offline_access" in scope
    assert "online_access" not in scope
    assert _live(quietline, walker, page.url).tokens.refresh_token is not None
    assert "session-notice" not in page.text


@_modes(refresh_requires_offline=True, access_token_lifetime=300)
def test_without_a_refresh_token_the_page_warns_and_relaunch_returns_there(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = _open(quietline, sandbox, walker)
    old = _live(quietline, walker, page.url)
    assert old.tokens.refresh_token is None
    assert "ends in about" in session_notice(page.text)
    link = relaunch_link(page.text)

    login = walker.get(quietline.url + link)
    assert "Sign in and continue" in login.text
    picker, back = sign_in_and_pick(walker, login, "pat-1")
    assert "Allow access to this patient" in picker.text, picker.text[:400]

    assert back.status_code == 200, back.text[:400]
    new_handle = back.url.split("/l/")[1].split("/")[0]
    assert new_handle != old.handle
    assert back.url.endswith(f"/l/{new_handle}/")


@_modes(refresh_requires_offline=True, access_token_lifetime=300)
def test_relaunch_returns_to_the_draft_with_its_answers(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    home = _open(quietline, sandbox, walker)
    base = home.url.rstrip("/")
    index = walker.get(f"{base}/review/")
    screening = walker.post(f"{base}/review/start", {"csrf": csrf(index.text)})
    assert screening.status_code == 200, screening.text[:400]
    saved = walker.post(
        screening.url,
        {"csrf": csrf(screening.text), "content_version": CONTENT_VERSION, "action": "save",
         FEAR_TEXT.link_id: DRAFT_TEXT},
    )  # fmt: skip
    assert saved.status_code == 200, saved.text[:400]
    link = relaunch_link(saved.text)
    assert "/review/" in link  # the relaunch link names the page the user is on

    login = walker.get(quietline.url + link)
    _, back = sign_in_and_pick(walker, login, "pat-1")

    assert back.status_code == 200, back.text[:400]
    old_handle = base.split("/l/")[1]
    new_handle = back.url.split("/l/")[1].split("/")[0]
    assert new_handle != old_handle
    review_path = screening.url.split(f"/l/{old_handle}", 1)[1].split("?")[0]
    assert back.url.split("?")[0].endswith(f"/l/{new_handle}{review_path}")
    assert DRAFT_TEXT in textarea(back.text, FEAR_TEXT.link_id)


@_modes(refresh_requires_offline=True, fhir_user_type="PractitionerRole", id_token_alg="ES256")
def test_all_modes_together_with_a_secret_authenticated_client(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = _open(quietline, sandbox, walker, offline_access=True)
    token = sandbox.request_log.matching("/auth/token")[0]
    assert token.headers["Authorization"].startswith("Basic ")
    live = _live(quietline, walker, page.url)
    assert live.roles == ("clinician",)
    assert live.tokens.refresh_token is not None
    assert live.context.fhir_user_type == "PractitionerRole"
