# SPDX-License-Identifier: Apache-2.0
"""No request a caller can make is a server error.

Properties over real HTTP against a running Quietline and the sandbox EHR: whatever the body,
nesting, bytes, content type or query string, the answer is below 500, and a 4xx says what was
wrong (a CDS-style JSON ``message`` for the CDS endpoints, an error page with a description
for the pages).  The CDS calls carry a valid EHR JWT, so bodies reach the parser and the hook's
validation rather than stopping at the token check.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote_from_bytes

import requests
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.state import get_state
from tests.support.servers import Quietline
from tests.unit.plugin.cds.support import FEEDBACK_PATH
from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import hook_body

PROPERTY = settings(
    max_examples=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CDS_PATHS = st.sampled_from([SERVICE_PATH, FEEDBACK_PATH])
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-16",
        "application/fhir+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["Patient/pat-1", "Practitioner/p", "2026-03-01T10:00:00Z", "Bundle"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=25,
)
HOOK_PATHS = [
    ("hook",),
    ("hookInstance",),
    ("context",),
    ("context", "userId"),
    ("context", "patientId"),
    ("context", "encounterId"),
    ("context", "appointments"),
    ("context", "appointments", "entry"),
    ("context", "appointments", "entry", 0),
    ("context", "appointments", "entry", 0, "resource"),
    ("context", "appointments", "entry", 0, "resource", "participant"),
    ("context", "appointments", "entry", 0, "resource", "start"),
    ("prefetch",),
    ("prefetch", "patient"),
    ("prefetch", "patient", "id"),
    ("prefetch", "patient", "link"),
    ("prefetch", "patient", "birthDate"),
    ("fhirServer",),
    ("fhirAuthorization",),
]
FEEDBACK_PATHS = [
    ("feedback",),
    ("feedback", 0),
    ("feedback", 0, "card"),
    ("feedback", 0, "outcome"),
    ("feedback", 0, "outcomeTimestamp"),
    ("feedback", 0, "acceptedSuggestions"),
    ("feedback", 0, "overrideReason"),
    ("feedback", 0, "overrideReason", "reason"),
    ("feedback", 0, "overrideReason", "userComment"),
]
QUERY_NAMES = st.sampled_from(
    [b"iss", b"launch", b"state", b"code", b"error", b"error_description", b"aud", b"tenant"]
) | st.binary(max_size=12)
QUERIES = st.lists(st.tuples(QUERY_NAMES, st.binary(max_size=60)), max_size=6)
PAGES = st.sampled_from(["/launch", "/callback", "/standalone", "/"])
ERROR_PAGE = re.compile(r'data-error="([^"]+)">([^<]+)</p>')


def _feedback_body() -> dict[str, Any]:
    return {
        "feedback": [
            {
                "card": "8ad0a7c4-51b3-8e61-9a5f-2c1b7f3e4d10",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-03-01T10:00:00Z",
                "overrideReason": {"reason": {"code": "x", "system": "y"}, "userComment": "z"},
            }
        ]
    }


def _replace(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def _auth(quietline: Quietline, sandbox: RunningSandbox, path: str) -> dict[str, str]:
    token = get_state(sandbox.app).cds_key.sign(
        issuer=sandbox.url, jku=sandbox.config.cds_jwks_uri, audience=quietline.url + path
    )
    return {"Authorization": f"Bearer {token}"}


def _post(
    quietline: Quietline,
    sandbox: RunningSandbox,
    path: str,
    data: bytes,
    content_type: str = "application/json",
) -> requests.Response:
    headers = _auth(quietline, sandbox, path)
    if content_type:
        headers["Content-Type"] = content_type
    return requests.post(quietline.url + path, data=data, headers=headers, timeout=30)


def _cds_answer_is_sound(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body["error"], str)
        assert body["error"]
        assert isinstance(body["message"], str)
        assert len(body["message"]) > 10


def _page_is_sound(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        match = ERROR_PAGE.search(response.text)
        assert match is not None, response.text
        assert len(match.group(2).strip()) > 10


def test_any_json_value_sent_to_the_cds_endpoints(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    @PROPERTY
    @given(path=CDS_PATHS, value=JSON_VALUES)
    def check(path: str, value: Any) -> None:
        data = json.dumps(value).encode()
        _cds_answer_is_sound(_post(quietline, sandbox, path, data))

    check()


def test_any_value_at_any_place_in_a_valid_request(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    @PROPERTY
    @given(
        hook=st.tuples(st.sampled_from(HOOK_PATHS), JSON_VALUES),
        feedback=st.tuples(st.sampled_from(FEEDBACK_PATHS), JSON_VALUES),
    )
    def check(hook: tuple[tuple[str, ...], Any], feedback: tuple[tuple[str, ...], Any]) -> None:
        body = _replace(hook_body(), *hook)
        _cds_answer_is_sound(_post(quietline, sandbox, SERVICE_PATH, json.dumps(body).encode()))
        body = _replace(_feedback_body(), *feedback)
        _cds_answer_is_sound(_post(quietline, sandbox, FEEDBACK_PATH, json.dumps(body).encode()))

    check()


def test_deeply_nested_bodies(quietline: Quietline, sandbox: RunningSandbox) -> None:
    @PROPERTY
    @given(
        path=CDS_PATHS,
        depth=st.integers(min_value=1, max_value=60_000),
        opener=st.sampled_from([b"[", b'{"a":', b'{"context":', b'[{"":']),
        closed=st.booleans(),
    )
    def check(path: str, depth: int, opener: bytes, closed: bool) -> None:
        closer = {b"[": b"]", b'[{"":': b"}]"}.get(opener, b"}")
        data = opener * depth + b"1" + (closer * depth if closed else b"")
        response = _post(quietline, sandbox, path, data)
        _cds_answer_is_sound(response)
        assert response.status_code in {400, 413}

    check()


def test_random_bytes_with_any_content_type(quietline: Quietline, sandbox: RunningSandbox) -> None:
    @PROPERTY
    @given(path=CDS_PATHS, data=st.binary(max_size=2048), content_type=CONTENT_TYPES)
    def check(path: str, data: bytes, content_type: str) -> None:
        response = _post(quietline, sandbox, path, data, content_type)
        _cds_answer_is_sound(response)
        assert response.status_code >= 400

    check()


def test_any_query_string_on_the_launch_pages(
    quietline: Quietline, sandbox: RunningSandbox
) -> None:
    start = [(b"iss", sandbox.fhir_base.encode()), (b"launch", b"launch-1")]

    @PROPERTY
    @given(page=PAGES, pairs=QUERIES, registered=st.booleans())
    def check(page: str, pairs: list[tuple[bytes, bytes]], registered: bool) -> None:
        if registered:
            pairs = [*start, *pairs]
        query = "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in pairs)
        response = requests.get(f"{quietline.url}{page}?{query}", timeout=30, allow_redirects=False)
        _page_is_sound(response)

    check()
