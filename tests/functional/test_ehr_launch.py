# SPDX-License-Identifier: Apache-2.0
"""The EHR launch over real HTTP: Quietline on localhost, the sandbox EHR on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from smart_launch.sandbox.server import RunningSandbox
from tests.support.servers import Quietline
from tests.support.servers import register_sandbox_tenant
from tests.support.walker import Walker
from tests.support.walker import ehr_launch_url


def _launch(
    walker: Walker, sandbox: RunningSandbox, patient: str = "pat-1", user: str = "therapist"
):
    return walker.get(ehr_launch_url(walker, sandbox.url, patient, user))


def _b64json(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_ehr_launch_reaches_home_with_banner_and_roles(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = _launch(walker, sandbox)
    assert page.status_code == 200, page.text[:400]
    assert urlsplit(page.url).path.startswith("/l/")
    assert 'id="patient-name"' in page.text
    assert 'data-capability="screening"' in page.text
    assert "no Quietline role" not in page.text


def test_front_desk_user_sees_only_verification(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    page = _launch(walker, sandbox, user="frontdesk")
    assert page.status_code == 200
    assert 'data-capability="codeword"' in page.text
    assert 'data-capability="screening"' not in page.text


def test_authorize_request_carries_every_required_parameter(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    launch_url = ehr_launch_url(walker, sandbox.url, "pat-1", "therapist")
    launch = parse_qs(urlsplit(launch_url).query)["launch"][0]
    redirect = walker.get(launch_url, follow=False)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    params = {key: values[0] for key, values in query.items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == "quietline"
    assert params["redirect_uri"] == quietline.url + "/callback"
    assert params["launch"] == launch
    assert "launch" in params["scope"].split()
    assert params["aud"] == sandbox.fhir_base
    assert len(base64.urlsafe_b64decode(params["state"] + "==")) >= 16
    assert params["code_challenge_method"] == "S256"
    assert 43 <= len(params["code_challenge"]) <= 128
    # The state and verifier live server-side only.
    assert params["state"] not in redirect.headers.get("Set-Cookie", "")


def test_pkce_challenge_matches_the_verifier_sent_to_the_token_endpoint(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    assert _launch(walker, sandbox).status_code == 200
    authorize = sandbox.request_log.matching("/auth/authorize")[0]
    token = sandbox.request_log.matching("/auth/token")[0]
    verifier = token.form["code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert authorize.args["code_challenge"] == digest.decode()


def test_private_key_jwt_assertion_meets_smart(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    assert _launch(walker, sandbox).status_code == 200
    assert _launch(Walker(), sandbox, patient="pat-2").status_code == 200
    token_requests = sandbox.request_log.matching("/auth/token")
    assert len(token_requests) == 2
    jtis = set()
    for record in token_requests:
        form = record.form
        assert form["client_assertion_type"] == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        assert "client_id" not in form
        header_b64, claims_b64, _ = form["client_assertion"].split(".")
        header, claims = _b64json(header_b64), _b64json(claims_b64)
        assert header["alg"] == "RS384"
        assert header["typ"] == "JWT"
        assert header["kid"]
        assert claims["iss"] == claims["sub"] == "quietline"
        assert claims["aud"] == sandbox.url + "/auth/token"
        assert 0 < claims["exp"] - time.time() <= 300
        jtis.add(claims["jti"])
    assert len(jtis) == 2


def test_es384_assertion_is_accepted(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    register_sandbox_tenant(quietline, sandbox, signing_alg="ES384")
    assert _launch(walker, sandbox).status_code == 200
    form = sandbox.request_log.matching("/auth/token")[0].form
    assert _b64json(form["client_assertion"].split(".")[0])["alg"] == "ES384"
