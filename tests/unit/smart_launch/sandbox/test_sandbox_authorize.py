# SPDX-License-Identifier: Apache-2.0
"""The authorization endpoint: refusals, the EHR launch, standalone sign-in and the chart page."""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING

import pytest

from smart_launch.sandbox.seed import ENCOUNTERS

if TYPE_CHECKING:
    from tests.unit.smart_launch.sandbox.conftest import Flow


def _hidden_fields(html: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    return {name: unescape(value) for name, value in fields}


def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(flow: Flow) -> None:
    params = flow.authorize_params(redirect_uri="https://attacker.example/cb")
    response = flow.authorize(params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>Request refused</h1>" in response.text
    assert "attacker.example" not in response.text


def test_redirect_uri_must_match_exactly(flow: Flow) -> None:
    response = flow.authorize(flow.authorize_params(redirect_uri=flow.redirect_uri + "/"))
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_unknown_client_shows_an_error_page(flow: Flow) -> None:
    response = flow.authorize(flow.authorize_params(client_id="nobody"))
    assert response.status_code == 400
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"code_challenge": "", "code_challenge_method": ""}, "PKCE is required"),
        ({"code_challenge_method": ""}, "S256"),
        ({"code_challenge_method": "plain"}, "S256"),
        ({"aud": "http://127.0.0.1:1/fhir"}, "aud mismatch"),
        ({"launch": "not-a-launch"}, "launch"),
        ({"scope": "openid fhirUser patient/Patient.rs"}, "launch scope"),
    ],
)
def test_invalid_requests_redirect_back_with_invalid_request(
    flow: Flow, overrides: dict[str, str], description: str
) -> None:
    if "launch" not in overrides:
        overrides = {**overrides, "launch": flow.launch()}
    response = flow.authorize(flow.authorize_params(**overrides))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(flow.redirect_uri + "?")
    query = flow.query_of(location)
    assert query["error"] == "invalid_request"
    assert description in query["error_description"]
    assert query["state"] == flow.state
    assert "code" not in query


def test_state_is_required(flow: Flow) -> None:
    response = flow.authorize(flow.authorize_params(state="", launch=flow.launch()))
    assert response.status_code == 302
    query = flow.query_of(response.headers["Location"])
    assert query["error"] == "invalid_request"
    assert "state" in query["error_description"]
    assert "code" not in query


def test_launch_scope_without_launch_parameter_is_refused(flow: Flow) -> None:
    response = flow.authorize(flow.authorize_params())
    query = flow.query_of(response.headers["Location"])
    assert query["error"] == "invalid_request"


def test_launch_for_another_app_is_refused(flow: Flow) -> None:
    launch = flow.launch(app="narrow")
    response = flow.authorize(flow.authorize_params(launch=launch))
    assert flow.query_of(response.headers["Location"])["error"] == "invalid_request"


def test_unsupported_response_type(flow: Flow) -> None:
    params = flow.authorize_params(response_type="token", launch=flow.launch())
    query = flow.query_of(flow.authorize(params).headers["Location"])
    assert query["error"] == "unsupported_response_type"
    assert query["state"] == flow.state


def test_authorize_error_fault(flow: Flow) -> None:
    flow.ehr.faults.authorize_error = "temporarily_unavailable"
    response = flow.authorize(flow.authorize_params(launch=flow.launch()))
    assert response.status_code == 302
    query = flow.query_of(response.headers["Location"])
    assert query == {"error": "temporarily_unavailable", "state": flow.state}


def test_ehr_launch_issues_a_code_without_a_login_prompt(flow: Flow) -> None:
    response = flow.authorize(flow.authorize_params(launch=flow.launch()))
    assert response.status_code == 302
    query = flow.query_of(response.headers["Location"])
    assert set(query) == {"code", "state"}
    assert query["state"] == flow.state
    assert len(query["code"]) >= 32


def test_chart_page_embeds_the_app_like_an_ehr(flow: Flow) -> None:
    response = flow.http.get(
        flow.ehr.url + "/ehr/launch", params={"patient": "pat-2", "user": "frontdesk"}
    )
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    assert "Signed in as <strong>Sam Okafor</strong>" in html
    assert "Jordan Moreau" in html
    assert "QL-100002" in html
    assert '<nav class="chart-nav" aria-label="Chart">' in html
    match = re.search(r'<iframe id="app-frame" title="Quietline" src="([^"]+)">', html)
    assert match is not None
    src = unescape(match.group(1))
    assert src.startswith("http://localhost:8701/launch?iss=http%3A%2F%2F127.0.0.1%3A")
    assert flow.query_of(src)["iss"] == flow.ehr.fhir_base


def test_ehr_launch_context_reaches_the_token_response(flow: Flow) -> None:
    launch = flow.launch(patient="pat-3", user="frontdesk")
    body = flow.token(launch=launch)
    assert body["patient"] == "pat-3"
    assert body["encounter"] == ENCOUNTERS["pat-3"]


@pytest.mark.parametrize(
    "params",
    [
        {"patient": "pat-404", "user": "therapist"},
        {"patient": "pat-1", "user": "nobody"},
        {"patient": "pat-1", "user": "therapist", "app": "unknown-app"},
    ],
)
def test_chart_page_refuses_unknown_patient_user_or_app(flow: Flow, params: dict[str, str]) -> None:
    response = flow.http.get(flow.ehr.url + "/ehr/launch", params=params)
    assert response.status_code == 400
    assert "<iframe" not in response.text


def test_home_page_lists_patients_staff_and_launch_links(flow: Flow) -> None:
    response = flow.http.get(flow.ehr.url + "/")
    assert response.status_code == 200
    html = response.text
    assert "Avery Lindqvist" in html
    assert "Priya Natarajan" in html
    assert "/ehr/launch?patient=pat-1&amp;user=therapist&amp;app=quietline" in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def _standalone_params(
    flow: Flow, scope: str = "launch/patient openid fhirUser patient/*.rs"
) -> dict[str, str]:
    return flow.authorize_params(scope=scope)


def test_standalone_launch_signs_in_and_picks_a_patient(flow: Flow) -> None:
    login = flow.authorize(_standalone_params(flow))
    assert login.status_code == 200
    assert "<legend>Sign in as</legend>" in login.text
    fields = _hidden_fields(login.text)
    assert fields["state"] == flow.state
    picker = flow.http.post(
        flow.ehr.authorization_endpoint,
        data={**fields, "user": "therapist", "action": "login"},
        allow_redirects=False,
    )
    assert picker.status_code == 200
    assert "<legend>Patient</legend>" in picker.text
    done = flow.http.post(
        flow.ehr.authorization_endpoint,
        data={**_hidden_fields(picker.text), "patient": "pat-4", "action": "patient"},
        allow_redirects=False,
    )
    assert done.status_code == 302
    query = flow.query_of(done.headers["Location"])
    assert query["state"] == flow.state
    body = flow.exchange(query["code"]).json()
    assert body["patient"] == "pat-4"
    assert body["encounter"] == ENCOUNTERS["pat-4"]


def test_standalone_without_patient_scope_needs_only_sign_in(flow: Flow) -> None:
    login = flow.authorize(_standalone_params(flow, scope="openid fhirUser user/Patient.rs"))
    done = flow.http.post(
        flow.ehr.authorization_endpoint,
        data={**_hidden_fields(login.text), "user": "admin", "action": "login"},
        allow_redirects=False,
    )
    assert done.status_code == 302
    body = flow.exchange(flow.query_of(done.headers["Location"])["code"]).json()
    assert "patient" not in body
    assert body["scope"] == "openid fhirUser user/Patient.rs"


def test_standalone_deny_redirects_with_access_denied(flow: Flow) -> None:
    login = flow.authorize(_standalone_params(flow))
    denied = flow.http.post(
        flow.ehr.authorization_endpoint,
        data={**_hidden_fields(login.text), "action": "deny"},
        allow_redirects=False,
    )
    assert denied.status_code == 302
    query = flow.query_of(denied.headers["Location"])
    assert query["error"] == "access_denied"
    assert query["state"] == flow.state


def test_prompt_none_works_for_an_ehr_launch_but_not_without_a_user(flow: Flow) -> None:
    launched = flow.authorize(flow.authorize_params(launch=flow.launch(), prompt="none"))
    assert "code" in flow.query_of(launched.headers["Location"])
    standalone = flow.authorize({**_standalone_params(flow), "prompt": "none"})
    assert standalone.status_code == 302
    assert flow.query_of(standalone.headers["Location"])["error"] == "login_required"


def test_signed_in_user_skips_the_login_page_unless_prompt_login(flow: Flow) -> None:
    login = flow.authorize(_standalone_params(flow))
    flow.http.post(
        flow.ehr.authorization_endpoint,
        data={**_hidden_fields(login.text), "user": "frontdesk", "action": "login"},
        allow_redirects=False,
    )
    again = flow.authorize(_standalone_params(flow))
    assert "<legend>Patient</legend>" in again.text
    assert "Sam Okafor" in again.text
    forced = flow.authorize({**_standalone_params(flow), "prompt": "login"})
    assert "<legend>Sign in as</legend>" in forced.text


def test_standalone_post_without_csrf_token_is_refused(flow: Flow) -> None:
    login = flow.authorize(_standalone_params(flow))
    fields = _hidden_fields(login.text)
    fields["csrf_token"] = "forged"
    response = flow.http.post(
        flow.ehr.authorization_endpoint,
        data={**fields, "user": "therapist", "action": "login"},
        allow_redirects=False,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
