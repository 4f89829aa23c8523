# SPDX-License-Identifier: Apache-2.0
"""Enforcement proven by walking the URL map, not by reading each view.

Every ``/l/`` route checks a permission; every state-changing route refuses a missing or wrong
form token unless it is one of the documented exemptions; the routes that need no launch are
exactly the documented public list; and a delivery can be retried only from the launch of the
client it belongs to.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.routing import Rule

from plugin.authz import Permission
from plugin.config import Settings
from plugin.crypto import lookup_hash
from plugin.launch.guard import required_permission
from plugin.launch.sessions import COOKIE_NAME
from plugin.launch.sessions import signed_session_id
from plugin.launch.store import SqlLaunchStore
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxStatus
from plugin.registry import get_service
from plugin.security import CSRF_EXEMPT
from plugin.security import sign_csrf
from plugin.store import Database
from plugin.tenants.interfaces import TenantRepository
from plugin.vault.services import VaultService
from tests.support.servers import make_settings
from tests.support.stored_launches import stored_launch
from tests.unit.plugin.outbox.support import SYSTEM
from tests.unit.plugin.outbox.support import document
from tests.unit.plugin.outbox.support import new_value
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import PUBLIC_URL
from tests.unit.plugin.support import registration

SECURITY_DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"
BROWSER_ID = "browser-id-for-the-route-walk"
SECRET = b"a fixed secret key for the route walk tests only"
STAFF = "Practitioner/7"
EVERY_ROLE = ("clinician", "front_desk", "admin")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def settings(instance: Path, database_url: str) -> Settings:
    return make_settings(instance, database_url, PUBLIC_URL, secret_key=SECRET)


@pytest.fixture
def store(flask_app: Flask, client: FlaskClient) -> SqlLaunchStore:
    get_service(TenantRepository, flask_app).register(registration())
    client.set_cookie(COOKIE_NAME, signed_session_id(SECRET, BROWSER_ID))
    return get_service(SqlLaunchStore, flask_app)


def _launch(store: SqlLaunchStore, roles: tuple[str, ...], patient: str | None) -> str:
    session_id = signed_session_id(SECRET, BROWSER_ID)
    return stored_launch(store, session_id, EHR_ISS, roles, patient=patient, staff=STAFF)


def _token() -> str:
    """The form token this test browser's pages carry."""
    return sign_csrf(SECRET, lookup_hash(signed_session_id(SECRET, BROWSER_ID)))


def _documented(heading: str) -> set[str]:
    """The endpoint names in the first column of the table under ``## heading``."""
    text = SECURITY_DOC.read_text(encoding="utf-8")
    match = re.search(
        rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL
    )
    assert match is not None, f"docs/security.md has no '## {heading}' section"
    return set(re.findall(r"^\| `([\w.]+)` \|", match.group(1), re.MULTILINE))


def _rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def _url(rule: Rule, handle: str) -> str:
    values = {name: handle if name == "handle" else "x" for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def test_every_launched_route_checks_a_permission(flask_app: Flask) -> None:
    launched = [rule for rule in _rules(flask_app) if rule.rule.startswith("/l/")]

    assert len(launched) > 20
    unguarded = [
        rule.endpoint
        for rule in launched
        if required_permission(flask_app.view_functions[rule.endpoint]) is None
    ]
    assert unguarded == []


def test_public_routes_are_exactly_the_documented_list(flask_app: Flask) -> None:
    rules = list(flask_app.url_map.iter_rules())
    public = {
        rule.endpoint
        for rule in rules
        if required_permission(flask_app.view_functions[rule.endpoint]) is None
    }

    assert public == _documented("Public routes")
    assert not any(rule.rule.startswith("/l/") for rule in rules if rule.endpoint in public)


def test_opening_a_vault_record_needs_the_vault_permission(flask_app: Flask) -> None:
    assert required_permission(flask_app.view_functions["notes.record"]) is Permission.VAULT_READ


def test_csrf_exemptions_are_exactly_the_documented_list(flask_app: Flask) -> None:
    unsafe = {rule.endpoint for rule in _rules(flask_app) if UNSAFE & (rule.methods or set())}

    assert set(CSRF_EXEMPT) == _documented("CSRF")
    assert set(CSRF_EXEMPT) <= unsafe


@pytest.mark.parametrize("token", ["missing", "other-browser", "other-secret"])
def test_every_state_changing_route_refuses_a_bad_form_token(
    flask_app: Flask, client: FlaskClient, store: SqlLaunchStore, token: str
) -> None:
    # Every permission, so the guard would let each view run if the token were not checked.
    handle = _launch(store, EVERY_ROLE, patient="p-1")
    forms = {
        "missing": {},
        "other-browser": {"csrf": sign_csrf(SECRET, lookup_hash("another browser"))},
        "other-secret": {"csrf": sign_csrf(b"another secret", lookup_hash(BROWSER_ID))},
    }
    checked = []
    for rule in _rules(flask_app):
        for method in sorted(UNSAFE & (rule.methods or set())):
            response = client.open(_url(rule, handle), method=method, data=forms[token])
            refused = response.status_code == 400 and 'data-error="csrf_failed"' in response.text
            checked.append((rule.endpoint, refused))

    assert [endpoint for endpoint, refused in checked if not refused] == sorted(CSRF_EXEMPT)
    assert len(checked) > 15
    # The launch is still open: no refused request reached a view (``end`` would close it).
    assert client.get(f"/l/{handle}/").status_code == 200


def _failed_delivery(flask_app: Flask, patient: str) -> str:
    """A failed delivery that the staff member queued for ``patient``."""
    db = get_service(Database, flask_app)
    pseudonym = get_service(VaultService, flask_app).pseudonym("ehr", patient)
    value = new_value()
    with db.session() as session:
        item_id = get_service(Outbox, flask_app).enqueue(
            session,
            tenant="ehr",
            resource=document(value),
            identifier_system=SYSTEM,
            identifier_value=value,
            created_by=STAFF,
            patient_pseudonym=pseudonym,
        )
    with db.session() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(status=OutboxStatus.FAILED.value, attempts=5)
        )
    return item_id


def _status(flask_app: Flask, item_id: str) -> OutboxStatus:
    return get_service(Outbox, flask_app).get("ehr", item_id).status


@pytest.mark.parametrize(
    "path", ["/l/{handle}/deliveries/{item}/retry", "/l/{handle}/notes/deliveries/{item}/retry"]
)
def test_a_delivery_is_retried_only_from_its_clients_launch(
    flask_app: Flask, client: FlaskClient, store: SqlLaunchStore, path: str
) -> None:
    first = _launch(store, ("clinician",), patient="first")
    second = _launch(store, ("clinician",), patient="second")
    item = _failed_delivery(flask_app, "second")

    other = client.post(path.format(handle=first, item=item), data={"csrf": _token()})

    assert other.status_code == 404
    assert _status(flask_app, item) is OutboxStatus.FAILED

    own = client.post(path.format(handle=second, item=item), data={"csrf": _token()})

    assert own.status_code == 303
    assert _status(flask_app, item) is OutboxStatus.PENDING


def test_a_launch_without_a_client_retries_no_clients_delivery(
    flask_app: Flask, client: FlaskClient, store: SqlLaunchStore
) -> None:
    handle = _launch(store, ("clinician",), patient=None)
    item = _failed_delivery(flask_app, "someone")

    response = client.post(f"/l/{handle}/deliveries/{item}/retry", data={"csrf": _token()})

    assert response.status_code == 404
    assert _status(flask_app, item) is OutboxStatus.FAILED
