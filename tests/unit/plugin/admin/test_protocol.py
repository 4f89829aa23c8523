# SPDX-License-Identifier: Apache-2.0
"""The admin's verification protocol page: every setting, saved through PolicyStore, audited."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.audit.models import AuditEntry
from plugin.codeword.interfaces import Action
from plugin.codeword.interfaces import AlertRecipient
from plugin.codeword.interfaces import VerificationPolicy
from plugin.codeword.policies import PolicyStore
from plugin.config import Settings
from plugin.crypto import lookup_hash
from plugin.launch.sessions import COOKIE_NAME
from plugin.launch.sessions import signed_session_id
from plugin.launch.store import SqlLaunchStore
from plugin.launch.store import StoredTokens
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.interfaces import TenantRepository
from smart_launch.context import LaunchContext
from tests.support.forms import csrf
from tests.support.forms import csrf_for
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import registration

BROWSER = "browser-id-for-the-protocol-tests"
ADMIN = "Practitioner/admin-1"


@dataclass
class Site:
    app: Flask
    client: FlaskClient
    cookie: str

    def launch(self, *roles: str) -> str:
        return get_service(SqlLaunchStore, self.app).create(
            session_hash=lookup_hash(self.cookie),
            context=LaunchContext(
                tenant="ehr", iss=EHR_ISS, patient=None, encounter=None,
                fhir_user=f"{EHR_ISS}/{ADMIN}", scopes=("launch", "openid", "fhirUser"),
                need_patient_banner=False, smart_style_url=None,
            ),
            roles=roles,
            tokens=StoredTokens("access-token-value", time.time() + 3600, None),
            missing_scopes=(),
        )  # fmt: skip

    @property
    def store(self) -> PolicyStore:
        return get_service(PolicyStore, self.app)

    def audit(self) -> list[AuditEntry]:
        with get_service(Database, self.app).session() as session:
            query = select(AuditEntry).where(AuditEntry.action == "codeword:protocol:write")
            return list(session.scalars(query))


@pytest.fixture
def site(flask_app: Flask, client: FlaskClient) -> Site:
    get_service(TenantRepository, flask_app).register(registration())
    cookie = signed_session_id(get_service(Settings, flask_app).secret_key, BROWSER)
    client.set_cookie(COOKIE_NAME, cookie)
    return Site(flask_app, client, cookie)


FORM = {
    "actions": ["reschedule", "cancel", "book"],
    "max_failures": "4",
    "lockout_minutes": "30",
    "alert": ["clinician", "admin"],
    "second_approval": "yes",
    "min_length": "10",
    "grant_minutes": "5",
    "refused_words": "harbourview\nFairhaven, bluebird",
}


def _post(site: Site, handle: str, **changes: object) -> TestResponse:
    page = site.client.get(f"/l/{handle}/admin/protocol")
    data = {**FORM, **changes, "csrf": csrf(page.text)}
    return site.client.post(f"/l/{handle}/admin/protocol", data=data)


@pytest.mark.parametrize("roles", [("clinician",), ("front_desk",), ()])
def test_only_admins_see_the_page(site: Site, roles: tuple[str, ...]) -> None:
    handle = site.launch(*roles)

    assert site.client.get(f"/l/{handle}/admin/protocol").status_code == 403
    form = {**FORM, "csrf": csrf_for(site.client)}
    assert site.client.post(f"/l/{handle}/admin/protocol", data=form).status_code == 403
    assert site.store.get_versioned("ehr")[1] == 0


def test_the_default_protocol_is_shown_with_a_control_for_every_setting(site: Site) -> None:
    page = site.client.get(f"/l/{site.launch('admin')}/admin/protocol").text

    assert "Not saved yet: these are the default settings." in page
    for action in Action:
        assert f'id="action-{action.value}"' in page
    assert 'id="action-reschedule" name="actions" value="reschedule" checked' in page
    assert 'id="action-book" name="actions" value="book">' in page
    for name in ("max_failures", "lockout_minutes", "min_length", "grant_minutes"):
        assert re.search(rf'<input type="number" id="{name}"', page)
        assert f'<label for="{name}">' in page
    assert 'value="3"' in page
    assert 'id="alert-clinician" name="alert" value="clinician" checked' in page
    assert 'id="second_approval"' in page
    assert '<label for="refused_words">' in page
    assert 'aria-current="page">Verification protocol</a>' in page
    assert "<script" not in page


def test_saving_stores_every_setting_audits_and_shows_the_version(site: Site) -> None:
    handle = site.launch("admin")

    saved = _post(site, handle)

    assert saved.status_code == 303
    assert saved.location.endswith("/admin/protocol?saved=1")
    protocol, version = site.store.get_versioned("ehr")
    assert version == 1
    assert protocol == VerificationPolicy(
        actions=frozenset({Action.RESCHEDULE, Action.CANCEL, Action.BOOK}),
        max_failures=4,
        lockout_minutes=30,
        alert=frozenset({AlertRecipient.CLINICIAN, AlertRecipient.ADMIN}),
        second_approval=True,
        min_length=10,
        refused_words=("harbourview", "fairhaven", "bluebird"),
        grant_minutes=5,
    )
    (entry,) = site.audit()
    assert entry.actor == ADMIN
    assert entry.detail["version"] == 1
    page = site.client.get(f"/l/{handle}/admin/protocol?saved=1").text
    assert "The protocol was saved as version 1." in page
    assert f"Version 1, last changed by {ADMIN}" in page


def test_saving_the_same_settings_again_changes_nothing(site: Site) -> None:
    handle = site.launch("admin")
    _post(site, handle)

    again = _post(site, handle)

    assert again.location.endswith("?saved=0")
    assert site.store.get_versioned("ehr")[1] == 1
    assert len(site.audit()) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "max_failures",
            "three",
            "Failed attempts before changes are paused must be a whole number.",
        ),
        ("grant_minutes", "", "Minutes a verification stays usable must be a whole number."),
        ("max_failures", "11", "from 1 to 10"),
        ("lockout_minutes", "1", "from 5 to 10080"),
        ("min_length", "4", "from 6 to 64"),
    ],
)
def test_invalid_values_are_explained_and_nothing_is_saved(
    site: Site, field: str, value: str, message: str
) -> None:
    handle = site.launch("admin")

    refused = _post(site, handle, **{field: value})

    assert refused.status_code == 400
    text = refused.text
    assert 'id="protocol-errors"' in text
    assert message in text
    assert f'value="{value}"' in text  # the admin's entries come back
    assert site.store.get_versioned("ehr")[1] == 0
    assert site.audit() == []


def test_saving_needs_the_form_token(site: Site) -> None:
    handle = site.launch("admin")

    refused = site.client.post(f"/l/{handle}/admin/protocol", data=FORM)

    assert refused.status_code == 400
    assert site.store.get_versioned("ehr")[1] == 0


def test_the_audit_page_links_to_the_protocol(site: Site) -> None:
    handle = site.launch("admin")

    page = site.client.get(f"/l/{handle}/admin/audit").text

    assert f'href="/l/{handle}/admin/protocol">Verification protocol</a>' in page
    assert 'aria-current="page">Audit log</a>' in page
