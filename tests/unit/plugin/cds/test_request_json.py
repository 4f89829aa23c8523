# SPDX-License-Identifier: Apache-2.0
"""Request bodies the JSON parser must refuse with a 400 and a CDS-style error, never a 500."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from plugin.cds.body import MAX_DEPTH
from tests.unit.plugin.cds.support import FEEDBACK_PATH
from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import Ehr
from tests.unit.plugin.cds.support import hook_body

PATHS = [pytest.param(SERVICE_PATH, id="service"), pytest.param(FEEDBACK_PATH, id="feedback")]


def _send(client: FlaskClient, ehr: Ehr, path: str, data: bytes) -> TestResponse:
    return client.post(path, data=data, headers=ehr.auth(path), content_type="application/json")


def _refused(response: TestResponse, words: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.json is not None
    assert response.json["error"] == "invalid_request"
    assert words in response.json["message"]


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"[" * 2000 + b"]" * 2000, id="arrays"),
        pytest.param(b'{"":' * 800 + b"1" + b"}" * 800, id="objects"),
        pytest.param(b'[{"":' * 500 + b"1" + b"}]" * 500, id="mixed"),
        pytest.param(b"[" * 3000, id="unclosed"),
    ],
)
def test_deeply_nested_json_is_400(cds: FlaskClient, ehr: Ehr, path: str, data: bytes) -> None:
    _refused(_send(cds, ehr, path, data), "nested too deeply")


def test_nesting_just_past_the_limit_is_refused_and_at_it_parsed(
    cds: FlaskClient, ehr: Ehr
) -> None:
    at_limit = _send(cds, ehr, SERVICE_PATH, _nested(MAX_DEPTH))
    past = _send(cds, ehr, SERVICE_PATH, _nested(MAX_DEPTH + 1))

    _refused(at_limit, "hook must be appointment-book")
    _refused(past, "nested too deeply")


def test_brackets_inside_strings_do_not_count_as_nesting(cds: FlaskClient, ehr: Ehr) -> None:
    body = hook_body()
    body["context"]["encounterId"] = '[{"\\' * 500

    response = cds.post(SERVICE_PATH, json=body, headers=ehr.auth())

    assert response.status_code == 200
    assert response.json == {"cards": []}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b'{"hook": "\xff\xfe"}', "not JSON", id="bad-utf8"),
        pytest.param(b"\xef\xbb\xbf\xff", "not JSON", id="bom-then-garbage"),
        pytest.param(b'{"a": Infinity}', "not JSON", id="infinity"),
        pytest.param(b'{"a": -Infinity}', "not JSON", id="minus-infinity"),
        pytest.param(b'{"a": NaN}', "not JSON", id="nan"),
        pytest.param(b'{"a": 1e999}', "not JSON", id="overflowing-number"),
        pytest.param(b'{"hook": 1, "hook": 2}', "duplicate", id="duplicate-key"),
        pytest.param(b'"text"', "JSON object", id="string"),
        pytest.param(b"null", "JSON object", id="null"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b'{"a": "\\ud800"}', "not JSON", id="lone-surrogate"),
    ],
)
def test_bodies_that_cannot_be_used_as_json_are_400(
    cds: FlaskClient, ehr: Ehr, path: str, data: bytes, words: str
) -> None:
    _refused(_send(cds, ehr, path, data), words)


def test_a_duplicate_key_deep_inside_is_refused(cds: FlaskClient, ehr: Ehr) -> None:
    text = json.dumps(hook_body()).replace('"userId":', '"userId": "Patient/x", "userId":')

    _refused(_send(cds, ehr, SERVICE_PATH, text.encode()), "duplicate")


@pytest.mark.parametrize("path", PATHS)
def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    cds: FlaskClient, ehr: Ehr, path: str
) -> None:
    response = _send(cds, ehr, path, b"[" * 5000)

    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert response.json is not None
    assert "larger than Quietline accepts" in response.json["message"]
