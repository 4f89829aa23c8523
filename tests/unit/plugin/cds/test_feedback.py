# SPDX-License-Identifier: Apache-2.0
"""The feedback endpoint: outcomes for cards Quietline issued, and nothing else."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.cds.cards import CardIds
from plugin.config import Settings
from tests.unit.plugin.cds.support import FEEDBACK_PATH
from tests.unit.plugin.cds.support import SERVICE_PATH
from tests.unit.plugin.cds.support import Ehr
from tests.unit.plugin.cds.support import audit_entries
from tests.unit.plugin.cds.support import enroll
from tests.unit.plugin.cds.support import hook_body


def _issued_card(cds: FlaskClient, cds_app: Flask, ehr: Ehr) -> str:
    enroll(cds_app, "ehr", "pat-1")
    response = cds.post(SERVICE_PATH, json=hook_body(), headers=ehr.auth())
    return str(response.json["cards"][0]["uuid"])


def _send(cds: FlaskClient, ehr: Ehr, *items: dict[str, Any]) -> Any:
    return cds.post(FEEDBACK_PATH, json={"feedback": list(items)}, headers=ehr.auth(FEEDBACK_PATH))


def _item(card: str, outcome: str = "accepted", **extra: Any) -> dict[str, Any]:
    return {"card": card, "outcome": outcome, "outcomeTimestamp": "2026-03-01T10:05:31Z", **extra}


def test_accepted_feedback_is_recorded(cds: FlaskClient, cds_app: Flask, ehr: Ehr) -> None:
    card = _issued_card(cds, cds_app, ehr)

    response = _send(cds, ehr, _item(card, acceptedSuggestions=[{"id": "s-1"}]))

    assert response.status_code == 200
    assert response.json == {}
    (entry,) = audit_entries(cds_app, "cds:hook:feedback")
    assert entry.detail == {"outcome": "accepted"}
    assert entry.actor == f"cds:{ehr.iss}"


def test_overridden_feedback_is_recorded_without_the_comment(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    card = _issued_card(cds, cds_app, ehr)
    reason = {
        "reason": {"code": "other", "system": "urn:ehr:override"},
        "userComment": "free text that may name someone",
    }

    response = _send(cds, ehr, _item(card, "overridden", overrideReason=reason))

    assert response.status_code == 200
    (entry,) = audit_entries(cds_app, "cds:hook:feedback")
    assert entry.detail == {"outcome": "overridden"}
    assert "free text" not in repr(entry.detail)


def test_a_card_quietline_never_issued_is_400(cds: FlaskClient, cds_app: Flask, ehr: Ehr) -> None:
    card = _issued_card(cds, cds_app, ehr)

    response = _send(cds, ehr, _item(card), _item(str(uuid.uuid4())))

    assert response.status_code == 400
    assert response.json["message"] == "feedback.1.card is not a card Quietline issued."
    assert audit_entries(cds_app, "cds:hook:feedback") == []


def test_a_card_issued_to_another_tenant_is_400(
    cds: FlaskClient, ehr: Ehr, settings: Settings
) -> None:
    card = CardIds(settings.secret_key).issue("another-tenant")

    assert _send(cds, ehr, _item(card)).status_code == 400


def test_feedback_needs_a_token_for_the_feedback_url(
    cds: FlaskClient, cds_app: Flask, ehr: Ehr
) -> None:
    card = _issued_card(cds, cds_app, ehr)

    response = cds.post(
        FEEDBACK_PATH, json={"feedback": [_item(card)]}, headers=ehr.auth(SERVICE_PATH)
    )

    assert response.status_code == 401
    assert audit_entries(cds_app, "cds:hook:feedback") == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "feedback is required"),
        ({"feedback": []}, "feedback is required"),
        ({"feedback": ["x"]}, "feedback.0 must be a JSON object"),
        ({"feedback": [{"outcome": "accepted"}]}, "feedback.0.card is required"),
        ({"feedback": [_item("c", "ignored")]}, "outcome must be accepted or overridden"),
        ({"feedback": [_item("c", outcomeTimestamp="yesterday")]}, "ISO 8601"),
        ({"feedback": [_item("c", outcomeTimestamp="2026-03-01T10:05:31")]}, "time zone"),
        ({"feedback": [_item("c", acceptedSuggestions=[{"uuid": 1}])]}, "acceptedSuggestions"),
        ({"feedback": [_item("c", overrideReason={"reason": {"code": "x"}})]}, "code and system"),
        ({"feedback": [_item("c", overrideReason={"userComment": 3})]}, "userComment"),
        ({"feedback": [1] * 51}, "at most 50"),
    ],
)
def test_malformed_feedback_is_400(
    cds: FlaskClient, ehr: Ehr, body: dict[str, Any], words: str
) -> None:
    response = cds.post(FEEDBACK_PATH, json=body, headers=ehr.auth(FEEDBACK_PATH))

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert words in response.json["message"]
