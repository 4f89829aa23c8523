# SPDX-License-Identifier: Apache-2.0
"""Client authentication by shared secret, narrowed grants, refresh rotation, standalone launch."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import requests

from plugin.launch.scopes import DEFAULT_SCOPE
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import hidden_fields
from tests.support.launches import chart_launch
from tests.support.launches import register_secret_client
from tests.support.launches import sign_in_and_pick
from tests.support.servers import Quietline
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url

SECRET = "s3cret-for-tests-only"
NARROW = " ".join(
    s
    for s in DEFAULT_SCOPE.split()
    if not s.startswith(("patient/DocumentReference", "patient/Consent"))
)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    return {
        "access_token_lifetime": 30,
        "extra_clients": (
            {
                "client_id": "basic-app",
                "auth_method": "client_secret_basic",
                "client_secret": SECRET,
                "scope": DEFAULT_SCOPE,
            },
            {
                "client_id": "narrow-app",
                "auth_method": "client_secret_basic",
                "client_secret": SECRET,
                "scope": NARROW,
            },
        ),
    }


def _secret_launch(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker, app: str
) -> requests.Response:
    """Register ``app`` as the tenant's secret-authenticated client and launch it from the
    chart; the launch must succeed."""
    register_secret_client(quietline, sandbox, app, SECRET)
    page = chart_launch(walker, sandbox, app)
    assert page.status_code == 200, page.text[:400]
    return page


def _ehr_home(walker: Walker, sandbox: RunningSandbox) -> requests.Response:
    """Launch Quietline from pat-1's chart as the therapist, with the default client."""
    home = walker.get(ehr_launch_url(walker, sandbox.url, "pat-1", "therapist"))
    assert home.status_code == 200
    return home


def test_client_secret_basic_uses_the_header_and_no_body_credentials(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _secret_launch(quietline, sandbox, walker, "basic-app")
    token = sandbox.request_log.matching("/auth/token")[0]
    auth = token.headers["Authorization"]
    assert auth.startswith("Basic ")
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == f"basic-app:{SECRET}"
    assert "client_id" not in token.form
    assert "client_secret" not in token.form
    assert "client_assertion" not in token.form


def test_narrower_grant_disables_dependent_features_without_403(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = _secret_launch(quietline, sandbox, walker, "narrow-app")
    assert "granted less access than Quietline asked for" in page.text
    notes = re.search(r'data-capability="notes">(.*?)</li>', page.text, re.DOTALL)
    assert notes is not None
    assert "Not available: The EHR did not grant access to DocumentReference" in notes.group(1)
    screening = re.search(r'data-capability="screening">(.*?)</li>', page.text, re.DOTALL)
    assert screening is not None
    assert "Not available" not in screening.group(1)


def test_refresh_rotates_and_never_reuses_a_refresh_token(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    # Tokens live 30 s, under the 60 s refresh margin: every banner read refreshes first.
    home = _ehr_home(walker, sandbox)
    for _ in range(3):
        assert walker.get(home.url).status_code == 200
    refreshes = [
        r.form["refresh_token"]
        for r in sandbox.request_log.matching("/auth/token")
        if r.form.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) >= 3
    assert len(set(refreshes)) == len(refreshes)
    assert 'id="patient-name"' in walker.get(home.url).text


def test_ehr_outage_during_refresh_keeps_the_page_and_says_so(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    home = _ehr_home(walker, sandbox)
    sandbox.stop()
    page = walker.get(home.url)
    assert page.status_code == 200
    assert "Client details could not be loaded from the EHR" in page.text
    assert 'id="patient-name"' not in page.text


def test_refused_refresh_ends_the_launch_with_a_relaunch_prompt(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    home = _secret_launch(quietline, sandbox, walker, "basic-app")
    register_secret_client(quietline, sandbox, "basic-app", "not-the-secret")
    page = walker.get(home.url)
    assert page.status_code == 401
    assert 'data-error="session_expired"' in page.text
    assert walker.get(home.url).status_code == 401


def test_standalone_launch_with_login_and_patient_picker(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    form = walker.get(f"{quietline.url}/standalone/sandbox")
    assert form.status_code == 200
    csrf = hidden_fields(form.text)["csrf"]
    login = walker.post(f"{quietline.url}/standalone/sandbox", {"csrf": csrf})
    assert login.status_code == 200
    assert "Sign in and continue" in login.text
    authorize = sandbox.request_log.matching("/auth/authorize")[0]
    assert "launch" not in authorize.args
    assert "launch/patient" in authorize.args["scope"].split()
    picker, home = sign_in_and_pick(walker, login, "pat-3")
    assert "Allow access to this patient" in picker.text
    assert home.status_code == 200, home.text[:300]
    assert 'id="patient-name"' in home.text


def test_standalone_start_requires_csrf(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    walker.get(f"{quietline.url}/standalone/sandbox")
    sandbox.request_log.clear()
    page = walker.post(f"{quietline.url}/standalone/sandbox", {"csrf": "forged"})
    assert page.status_code == 400
    assert sandbox.request_log.matching("/.well-known") == []
    assert sandbox.request_log.matching("/auth/authorize") == []
