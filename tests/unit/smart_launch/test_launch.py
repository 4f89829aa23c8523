# SPDX-License-Identifier: Apache-2.0
"""smart_launch.launch: issuer normalisation, PKCE, the authorize URL and the redirect handling.

The refusals run against a canned SMART configuration and token endpoint (so a test can prove
no token request was made); the happy paths run against the real sandbox EHR.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from html import unescape
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests

from smart_launch.discovery import ConfigurationCache
from smart_launch.errors import AuthorizationDenied
from smart_launch.errors import DiscoveryError
from smart_launch.errors import IdTokenError
from smart_launch.errors import IssuerNotAllowed
from smart_launch.errors import StateError
from smart_launch.errors import TokenRequestError
from smart_launch.http import make_session
from smart_launch.identity import JwksCache
from smart_launch.launch import AppRegistration
from smart_launch.launch import PendingAuthorization
from smart_launch.launch import SmartLaunchClient
from smart_launch.launch import code_challenge
from smart_launch.launch import normalize_iss
from smart_launch.sandbox.config import ClientRegistration
from smart_launch.sandbox.config import SandboxConfig
from smart_launch.sandbox.server import start
from smart_launch.scopes import ScopeSet
from smart_launch.tokens import ClientSecretBasic
from smart_launch.tokens import PrivateKeyJwtAuth
from smart_launch.tokens import refresh

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import Peer

    from smart_launch.keys import ClientKeys
    from smart_launch.sandbox.server import RunningSandbox

REDIRECT_URI = "http://localhost:8701/launch/callback"
SECRET = "launch-test-secret"
BINDING = "browser-session-1"
APP_SCOPE = "launch patient/Patient.rs patient/Appointment.rus"
TOKEN_PATH = "/auth/token"


class MemoryStates:
    """A real in-memory :class:`~smart_launch.launch.LaunchStateStore` (single use, atomic)."""

    def __init__(self) -> None:
        self.records: dict[str, PendingAuthorization] = {}
        self._lock = threading.Lock()

    def save(self, state: str, pending: PendingAuthorization) -> None:
        with self._lock:
            self.records[state] = pending

    def consume(self, state: str, binding: str) -> PendingAuthorization | None:
        with self._lock:
            pending = self.records.get(state)
            if pending is None or pending.binding != binding:
                return None
            return self.records.pop(state)

    def is_pending(self, state: str) -> bool:
        with self._lock:
            pending = self.records.get(state)
            return pending is not None and pending.expires_at >= time.time()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with make_session(timeout=(2.0, 5.0)) as session:
        yield session


@pytest.fixture
def states() -> MemoryStates:
    return MemoryStates()


@pytest.fixture
def client(http: requests.Session, states: MemoryStates) -> SmartLaunchClient:
    return SmartLaunchClient(
        configurations=ConfigurationCache(http), jwks=JwksCache(http), states=states
    )


def _registration(iss: str, scope: str = APP_SCOPE, **overrides: Any) -> AppRegistration:
    registration = AppRegistration(
        tenant="clinic-a",
        iss=iss,
        client_id="quietline",
        redirect_uri=REDIRECT_URI,
        scope=ScopeSet.parse(scope),
        auth=ClientSecretBasic("quietline", SECRET),
    )
    return replace(registration, **overrides)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def _first(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in _query(url).items()}


# Issuer normalisation and PKCE


@pytest.mark.parametrize(
    ("iss", "normalized"),
    [
        ("https://ehr.example/fhir", "https://ehr.example/fhir"),
        ("https://ehr.example/fhir/", "https://ehr.example/fhir"),
        ("HTTPS://EHR.Example/fhir", "https://ehr.example/fhir"),
        ("https://ehr.example/FHIR/R4/", "https://ehr.example/FHIR/R4"),
        ("  https://ehr.example:8443/fhir  ", "https://ehr.example:8443/fhir"),
        ("http://127.0.0.1:8701/fhir", "http://127.0.0.1:8701/fhir"),
        ("https://ehr.example", "https://ehr.example"),
    ],
)
def test_normalize_iss(iss: str, normalized: str) -> None:
    assert normalize_iss(iss) == normalized


@pytest.mark.parametrize(
    "iss",
    [
        "",
        "ehr.example/fhir",
        "/fhir",
        "javascript:alert(1)",
        "JavaScript://ehr.example/%0aalert(1)",
        "ftp://ehr.example/fhir",
        "file:///etc/passwd",
        "https:///fhir",
        "https://ehr.example/fhir?tenant=a",
        "https://ehr.example/fhir#x",
        "https://user@ehr.example/fhir",
        "https://user:pw@ehr.example/fhir",
        "https://:pw@ehr.example/fhir",
    ],
)
def test_normalize_iss_refuses_what_is_not_a_plain_http_url(iss: str) -> None:
    with pytest.raises(IssuerNotAllowed):
        normalize_iss(iss)


def test_code_challenge_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# The authorize request (begin)


def test_begin_builds_the_ehr_launch_authorize_url(
    peer: Peer, client: SmartLaunchClient, states: MemoryStates
) -> None:
    peer.smart_configuration()
    registration = _registration(peer.fhir_base)
    before = time.time()
    url = client.begin(registration, launch="launch-123", binding=BINDING)

    assert url.startswith(peer.url + "/auth/authorize?")
    query = _query(url)
    assert all(len(values) == 1 for values in query.values())
    params = _first(url)
    assert set(params) == {
        "response_type",
        "client_id",
        "redirect_uri",
        "launch",
        "scope",
        "state",
        "aud",
        "code_challenge",
        "code_challenge_method",
    }
    assert params["response_type"] == "code"
    assert params["client_id"] == "quietline"
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["launch"] == "launch-123"
    assert params["scope"].split() == APP_SCOPE.split()
    assert params["aud"] == peer.fhir_base
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 22
    assert 43 <= len(params["code_challenge"]) <= 128

    pending = states.records[params["state"]]
    assert code_challenge(pending.code_verifier) == params["code_challenge"]
    assert 43 <= len(pending.code_verifier) <= 128
    assert pending.code_verifier not in url
    assert (pending.tenant, pending.iss, pending.binding) == ("clinic-a", peer.fhir_base, BINDING)
    assert pending.requested_scope == params["scope"]
    assert pending.launch_type == "ehr"
    assert before + 600 <= pending.expires_at <= time.time() + 600


def test_begin_for_a_standalone_launch_asks_for_a_patient_and_sends_no_launch(
    peer: Peer, client: SmartLaunchClient, states: MemoryStates
) -> None:
    peer.smart_configuration()
    registration = _registration(peer.fhir_base, "launch openid fhirUser patient/Patient.rs")
    params = _first(client.begin(registration, launch=None, binding=BINDING))

    assert "launch" not in params
    assert params["scope"].split() == ["launch/patient", "openid", "fhirUser", "patient/Patient.rs"]
    assert params["aud"] == peer.fhir_base
    assert states.records[params["state"]].launch_type == "standalone"


def test_begin_puts_the_right_launch_scope_first_exactly_once(
    peer: Peer, client: SmartLaunchClient
) -> None:
    peer.smart_configuration()
    registration = _registration(peer.fhir_base, "openid launch/patient patient/Patient.rs launch")
    ehr = _first(client.begin(registration, launch="l1", binding=BINDING))["scope"].split()
    alone = _first(client.begin(registration, launch=None, binding=BINDING))["scope"].split()
    assert ehr == ["launch", "openid", "patient/Patient.rs"]
    assert alone == ["launch/patient", "openid", "patient/Patient.rs"]


def test_every_begin_has_a_fresh_state_and_verifier(
    peer: Peer, client: SmartLaunchClient, states: MemoryStates
) -> None:
    peer.smart_configuration()
    registration = _registration(peer.fhir_base)
    urls = [client.begin(registration, launch="l1", binding=BINDING) for _ in range(20)]
    assert len({_first(url)["state"] for url in urls}) == 20
    assert len({_first(url)["code_challenge"] for url in urls}) == 20
    assert len(states.records) == 20
    assert peer.hits("/fhir/.well-known/smart-configuration") == 1


@pytest.mark.parametrize(
    "methods", [None, ["plain"], ["S256", "plain"]], ids=["missing", "plain", "both"]
)
def test_begin_refuses_an_ehr_without_safe_pkce(
    peer: Peer, client: SmartLaunchClient, states: MemoryStates, methods: list[str] | None
) -> None:
    peer.smart_configuration(code_challenge_methods_supported=methods)
    with pytest.raises(DiscoveryError):
        client.begin(_registration(peer.fhir_base), launch="l1", binding=BINDING)
    assert states.records == {}


# The redirect (complete): refusals come before any token request


@pytest.fixture
def canned_ehr(peer: Peer) -> Peer:
    """A canned EHR whose token endpoint would answer a usable token."""
    peer.smart_configuration()
    peer.json(
        TOKEN_PATH,
        {
            "access_token": "at-1",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "launch patient/Patient.rs",
            "patient": "pat-1",
            "need_patient_banner": True,
        },
        method="POST",
    )
    return peer


def _redirect(client: SmartLaunchClient, peer: Peer, **extra: str) -> dict[str, str]:
    """Begin a launch and return the redirect parameters an EHR would send back."""
    url = client.begin(_registration(peer.fhir_base), launch="l1", binding=BINDING)
    return {"code": "code-1", "state": _first(url)["state"], **extra}


def _complete(client: SmartLaunchClient, peer: Peer, params: dict[str, str], **kwargs: Any) -> Any:
    registration = _registration(peer.fhir_base)
    kwargs.setdefault("binding", BINDING)
    return client.complete(params, resolve=lambda _tenant: registration, **kwargs)


def test_a_redirect_with_a_valid_state_exchanges_the_code(
    canned_ehr: Peer, client: SmartLaunchClient, states: MemoryStates
) -> None:
    params = _redirect(client, canned_ehr)
    pending = states.records[params["state"]]
    result = _complete(client, canned_ehr, params)

    (request,) = canned_ehr.requests_to(TOKEN_PATH)
    assert request.form["code"] == "code-1"
    assert request.form["code_verifier"] == pending.code_verifier
    assert request.form["redirect_uri"] == REDIRECT_URI
    assert result.context.patient == "pat-1"
    assert result.context.scopes == ("launch", "patient/Patient.rs")
    assert result.context.need_patient_banner is True
    assert result.missing_scopes == ("patient/Appointment.rus",)
    assert result.identity is None
    assert states.records == {}


@pytest.mark.parametrize(
    "params",
    [{"code": "code-1"}, {"code": "code-1", "state": ""}, {"code": "c", "state": "unknown-state"}],
    ids=["missing", "empty", "unknown"],
)
def test_a_missing_or_unknown_state_is_refused(
    canned_ehr: Peer, client: SmartLaunchClient, params: dict[str, str]
) -> None:
    _redirect(client, canned_ehr)
    with pytest.raises(StateError) as raised:
        _complete(client, canned_ehr, params)
    assert raised.value.status_code == 400
    assert canned_ehr.hits(TOKEN_PATH) == 0


def test_a_reused_state_is_refused(canned_ehr: Peer, client: SmartLaunchClient) -> None:
    params = _redirect(client, canned_ehr)
    _complete(client, canned_ehr, params)
    with pytest.raises(StateError, match="already used"):
        _complete(client, canned_ehr, params)
    assert canned_ehr.hits(TOKEN_PATH) == 1


def test_an_expired_state_is_refused(canned_ehr: Peer, http: requests.Session) -> None:
    client = SmartLaunchClient(
        configurations=ConfigurationCache(http),
        jwks=JwksCache(http),
        states=MemoryStates(),
        state_ttl=-1,
    )
    with pytest.raises(StateError, match="expired"):
        _complete(client, canned_ehr, _redirect(client, canned_ehr))
    assert canned_ehr.hits(TOKEN_PATH) == 0


def test_a_state_from_another_browser_is_refused_and_stays_usable(
    canned_ehr: Peer, client: SmartLaunchClient
) -> None:
    params = _redirect(client, canned_ehr)
    with pytest.raises(StateError, match="another browser"):
        _complete(client, canned_ehr, params, binding="attacker-session")
    assert canned_ehr.hits(TOKEN_PATH) == 0

    result = _complete(client, canned_ehr, params)

    assert result.context.tenant == "clinic-a"
    assert canned_ehr.hits(TOKEN_PATH) == 1


@pytest.mark.parametrize("error", ["access_denied", "invalid_scope", "temporarily_unavailable"])
def test_an_error_answer_is_denied_without_a_token_request(
    canned_ehr: Peer, client: SmartLaunchClient, error: str
) -> None:
    params = _redirect(client, canned_ehr, error=error, error_description="<b>no</b>")
    with pytest.raises(AuthorizationDenied) as raised:
        _complete(client, canned_ehr, params)
    assert raised.value.description == f"The EHR did not authorise Quietline ({error})."
    assert raised.value.status_code == 403
    assert canned_ehr.hits(TOKEN_PATH) == 0
    with pytest.raises(StateError):
        _complete(client, canned_ehr, {**params, "error": ""})


@pytest.mark.parametrize(
    "error",
    [
        "<script>alert(1)</script>",
        "Access_Denied",
        "call 555-0100 to verify",
        "",
        "x" * 65,
        "access_denied\n",
        "access_denied\nforged log line",
    ],
)
def test_a_garbage_error_is_shown_as_unknown(
    canned_ehr: Peer, client: SmartLaunchClient, error: str
) -> None:
    with pytest.raises(AuthorizationDenied) as raised:
        _complete(client, canned_ehr, _redirect(client, canned_ehr, error=error))
    assert raised.value.description == "The EHR did not authorise Quietline (unknown)."
    assert canned_ehr.hits(TOKEN_PATH) == 0


@pytest.mark.parametrize("code", [None, ""])
def test_a_missing_code_is_denied(
    canned_ehr: Peer, client: SmartLaunchClient, code: str | None
) -> None:
    params = _redirect(client, canned_ehr)
    if code is None:
        del params["code"]
    else:
        params["code"] = code
    with pytest.raises(AuthorizationDenied, match="no authorization code"):
        _complete(client, canned_ehr, params)
    assert canned_ehr.hits(TOKEN_PATH) == 0


@pytest.mark.parametrize("iss", ["https://attacker.example", "{fhir_base}", "{url}/"])
def test_an_rfc9207_iss_of_another_server_is_denied(
    canned_ehr: Peer, client: SmartLaunchClient, iss: str
) -> None:
    returned = iss.format(fhir_base=canned_ehr.fhir_base, url=canned_ehr.url)
    with pytest.raises(AuthorizationDenied, match="another server"):
        _complete(client, canned_ehr, _redirect(client, canned_ehr, iss=returned))
    assert canned_ehr.hits(TOKEN_PATH) == 0


def test_an_rfc9207_iss_naming_the_issuer_is_accepted(
    canned_ehr: Peer, client: SmartLaunchClient
) -> None:
    result = _complete(client, canned_ehr, _redirect(client, canned_ehr, iss=canned_ehr.url))
    assert result.context.patient == "pat-1"
    assert canned_ehr.hits(TOKEN_PATH) == 1


def test_granted_openid_without_an_id_token_is_refused(
    peer: Peer, client: SmartLaunchClient
) -> None:
    peer.smart_configuration()
    peer.json(
        TOKEN_PATH,
        {"access_token": "at", "token_type": "Bearer", "scope": "launch openid fhirUser"},
        method="POST",
    )
    registration = _registration(peer.fhir_base, "launch openid fhirUser")
    url = client.begin(registration, launch="l1", binding=BINDING)
    params = {"code": "c", "state": _first(url)["state"]}
    with pytest.raises(IdTokenError, match="no identity token"):
        client.complete(params, binding=BINDING, resolve=lambda _tenant: registration)


# Full flows against the sandbox EHR


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory, app_keys: ClientKeys) -> Iterator[RunningSandbox]:
    common: dict[str, Any] = {
        "redirect_uris": (REDIRECT_URI,),
        "launch_url": "http://localhost:8701/launch",
    }
    clients = [
        ClientRegistration(
            client_id="quietline",
            client_secret=SECRET,
            scope="launch launch/patient openid fhirUser online_access patient/*.cruds",
            **common,
        ),
        ClientRegistration(
            client_id="quietline-jwt",
            auth_method="private_key_jwt",
            jwks=app_keys.public_jwks(),
            scope="launch openid fhirUser online_access patient/*.cruds",
            **common,
        ),
        ClientRegistration(
            client_id="narrow",
            client_secret=SECRET,
            scope="launch openid fhirUser patient/Patient.rs",
            **common,
        ),
    ]
    config = SandboxConfig(db_path=tmp_path_factory.mktemp("ehr") / "ehr.sqlite3", clients=clients)
    with start(config) as running:
        yield running


@pytest.fixture
def sandbox_ehr(ehr: RunningSandbox) -> Iterator[RunningSandbox]:
    """The module's sandbox with no fault switched on and an empty request log."""
    ehr.faults.reset()
    ehr.request_log.clear()
    yield ehr
    ehr.faults.reset()


def _sandbox_registration(
    ehr: RunningSandbox, client_id: str, keys: ClientKeys, scope: str
) -> AppRegistration:
    auth = (
        PrivateKeyJwtAuth(client_id, keys, alg="ES384")
        if client_id == "quietline-jwt"
        else ClientSecretBasic(client_id, SECRET)
    )
    return _registration(ehr.fhir_base, scope, client_id=client_id, auth=auth)


def _launch_id(
    ehr: RunningSandbox, http: requests.Session, app: str, app_context: str | None = None
) -> str:
    """Open the chart page and read the ``launch`` of the embedded app's iframe."""
    params = {"patient": "pat-1", "user": "therapist", "app": app}
    if app_context is not None:
        params["app_context"] = app_context
    response = http.get(ehr.url + "/ehr/launch", params=params)
    assert response.status_code == 200
    match = re.search(r'<iframe id="app-frame" title="Quietline" src="([^"]+)"', response.text)
    assert match is not None
    src = _first(unescape(match.group(1)))
    assert src["iss"] == ehr.fhir_base
    return src["launch"]


def _authorize(http: requests.Session, url: str) -> dict[str, str]:
    """GET the authorize URL without following the redirect; return the redirect's query."""
    response = http.get(url, allow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return _first(location)


def _ehr_flow(
    ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    keys: ClientKeys,
    *,
    client_id: str = "quietline",
    scope: str = "launch openid fhirUser online_access patient/Patient.rs patient/Appointment.rus",
    app_context: str | None = None,
) -> Any:
    registration = _sandbox_registration(ehr, client_id, keys, scope)
    launch = _launch_id(ehr, http, client_id, app_context)
    url = client.begin(registration, launch=launch, binding=BINDING)
    params = _authorize(http, url)
    return client.complete(params, binding=BINDING, resolve=lambda _tenant: registration)


@pytest.mark.parametrize("client_id", ["quietline", "quietline-jwt"])
def test_a_full_ehr_launch_against_the_sandbox(
    sandbox_ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    app_keys: ClientKeys,
    client_id: str,
) -> None:
    result = _ehr_flow(sandbox_ehr, http, client, app_keys, client_id=client_id)

    context = result.context
    assert (context.tenant, context.iss, context.launch_type) == (
        "clinic-a",
        sandbox_ehr.fhir_base,
        "ehr",
    )
    assert context.patient == "pat-1"
    assert context.fhir_user == sandbox_ehr.fhir_base + "/Practitioner/therapist"
    assert context.fhir_user_type == "Practitioner"
    assert context.need_patient_banner is True
    assert result.identity is not None
    assert result.identity.subject == "therapist"
    assert result.missing_scopes == ()
    assert result.tokens.refresh_token

    (token_request,) = sandbox_ehr.request_log.matching(TOKEN_PATH, "POST")
    assert token_request.form["code_verifier"]
    if client_id == "quietline":
        assert token_request.headers["Authorization"].startswith("Basic ")
        assert "client_id" not in token_request.form
    else:
        assert "Authorization" not in token_request.headers
        assert token_request.form["client_assertion"].count(".") == 2

    patient = http.get(
        sandbox_ehr.fhir_base + "/Patient/pat-1",
        headers={"Authorization": f"Bearer {result.tokens.access_token}"},
    )
    assert patient.status_code == 200
    assert patient.json()["id"] == "pat-1"


def test_the_launch_app_context_reaches_the_launch_context(
    sandbox_ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    app_keys: ClientKeys,
) -> None:
    app_context = '{"verify":{"appointment":"appt-1-next","action":"reschedule"}}'
    result = _ehr_flow(sandbox_ehr, http, client, app_keys, app_context=app_context)
    assert result.context.app_context == app_context
    assert result.tokens.app_context == app_context
    assert _ehr_flow(sandbox_ehr, http, client, app_keys).context.app_context is None


def test_a_narrower_grant_is_reported_as_missing_scopes(
    sandbox_ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    app_keys: ClientKeys,
) -> None:
    result = _ehr_flow(sandbox_ehr, http, client, app_keys, client_id="narrow")
    assert result.missing_scopes == ("online_access", "patient/Appointment.rus")
    assert not result.tokens.scope.allows("Appointment", "u")
    assert result.tokens.scope.allows("Patient", "r")


def test_a_refreshed_launch_rotates_the_refresh_token(
    sandbox_ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    app_keys: ClientKeys,
) -> None:
    result = _ehr_flow(sandbox_ehr, http, client, app_keys)
    first = result.tokens.refresh_token
    auth = ClientSecretBasic("quietline", SECRET)

    renewed = refresh(
        token_endpoint=sandbox_ehr.token_endpoint,
        auth=auth,
        refresh_token=first,
        current_scope=result.tokens.scope,
    )
    assert renewed.refresh_token not in {None, first}
    assert renewed.access_token != result.tokens.access_token
    with pytest.raises(TokenRequestError, match="invalid_grant"):
        refresh(
            token_endpoint=sandbox_ehr.token_endpoint,
            auth=auth,
            refresh_token=first,
            current_scope=result.tokens.scope,
        )


@pytest.mark.parametrize("fault", ["signature", "aud", "iss", "exp"])
def test_a_bad_id_token_from_the_sandbox_refuses_the_sign_in(
    sandbox_ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    app_keys: ClientKeys,
    fault: str,
) -> None:
    sandbox_ehr.faults.id_token_fault = fault
    with pytest.raises(IdTokenError):
        _ehr_flow(sandbox_ehr, http, client, app_keys)


def test_a_denied_authorization_makes_no_token_request(
    sandbox_ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    app_keys: ClientKeys,
) -> None:
    sandbox_ehr.faults.authorize_error = "access_denied"
    with pytest.raises(AuthorizationDenied, match=r"\(access_denied\)"):
        _ehr_flow(sandbox_ehr, http, client, app_keys)
    assert sandbox_ehr.request_log.matching(TOKEN_PATH) == []


@pytest.mark.parametrize("fault", ["discovery_without_s256", "discovery_offers_plain"])
def test_the_sandbox_without_safe_pkce_is_refused_before_authorizing(
    sandbox_ehr: RunningSandbox,
    http: requests.Session,
    client: SmartLaunchClient,
    app_keys: ClientKeys,
    fault: str,
) -> None:
    setattr(sandbox_ehr.faults, fault, True)
    with pytest.raises(DiscoveryError):
        _ehr_flow(sandbox_ehr, http, client, app_keys)
    assert sandbox_ehr.request_log.matching("/auth/") == []
