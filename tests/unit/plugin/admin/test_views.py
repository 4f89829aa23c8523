# SPDX-License-Identifier: Apache-2.0
"""The admin audit page: lists and filters entries, verifies the chain, admins only."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.audit import AuditAction
from plugin.audit import AuditSink
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
from tests.support.forms import csrf_for
from tests.unit.plugin.audit.support import create_audit_tables
from tests.unit.plugin.audit.support import event
from tests.unit.plugin.audit.support import sql
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import registration

BROWSER = "browser-id-for-the-admin-tests"
ADMIN_USER = EHR_ISS + "/Practitioner/admin-1"


@dataclass
class Site:
    client: FlaskClient
    launches: SqlLaunchStore
    log: AuditSink
    db: Database
    cookie: str

    def launch(self, *roles: str) -> str:
        return self.launches.create(
            session_hash=lookup_hash(self.cookie),
            context=LaunchContext(
                tenant="ehr",
                iss=EHR_ISS,
                patient=None,
                encounter=None,
                fhir_user=ADMIN_USER,
                scopes=("launch", "openid", "fhirUser"),
                need_patient_banner=False,
                smart_style_url=None,
            ),
            roles=roles,
            tokens=StoredTokens("access-token-value", time.time() + 3600, None),
            missing_scopes=(),
        )


@pytest.fixture
def site(flask_app: Flask, client: FlaskClient, tmp_path: Path) -> Site:
    db = get_service(Database, flask_app)
    create_audit_tables(db)
    get_service(TenantRepository, flask_app).register(registration())
    cookie = signed_session_id(get_service(Settings, flask_app).secret_key, BROWSER)
    client.set_cookie(COOKIE_NAME, cookie)
    launches = get_service(SqlLaunchStore, flask_app)
    return Site(client, launches, get_service(AuditSink, flask_app), db, cookie)


def _seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-seq="(\d+)">', html)]


def test_lists_entries_newest_first_fifty_per_page(site: Site) -> None:
    for n in range(1, 61):
        site.log.record(event(n))
    handle = site.launch("admin")

    first = site.client.get(f"/l/{handle}/admin/audit")
    second = site.client.get(f"/l/{handle}/admin/audit?page=2")

    assert first.status_code == 200
    assert _seqs(first.text) == list(range(60, 10, -1))
    assert "page 1 of 2, 60 matching" in first.text
    assert _seqs(second.text) == list(range(10, 0, -1))
    assert 'rel="prev"' in second.text
    assert "access-token-value" not in first.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=vault%3Arecord%3Awrite", [4]),
        ("outcome=denied", [5]),
        ("actor=Practitioner%2F99", [6]),
        ("subject=ps-special", [7]),
        ("date_from=2025-03-02&date_to=2025-03-02", [2]),
        ("date_to=2025-03-01", [1]),
        ("action=vault%3Arecord%3Aread&subject=ps-1", [3]),
    ],
)
def test_filters_by_query_parameters(site: Site, query: str, expected: list[int]) -> None:
    site.log.record(event(1, subject="ps-0"))
    site.log.record(event(2, subject="ps-0"))
    site.log.record(event(3, subject="ps-1"))
    site.log.record(event(4, subject="ps-0", action=AuditAction.VAULT_WRITE))
    site.log.record(event(5, subject="ps-0", outcome="denied"))
    site.log.record(event(6, subject="ps-0", actor=EHR_ISS + "/Practitioner/99"))
    site.log.record(event(7, subject="ps-special"))
    sql(site.db, "UPDATE audit_entries SET at = :at WHERE seq = 1", at="2025-03-01 23:59:59.000000")
    sql(site.db, "UPDATE audit_entries SET at = :at WHERE seq = 2", at="2025-03-02 00:00:00.000000")
    handle = site.launch("admin")

    response = site.client.get(f"/l/{handle}/admin/audit?{query}")

    assert response.status_code == 200
    assert _seqs(response.text) == expected


def test_a_bad_filter_is_explained_and_ignored(site: Site) -> None:
    site.log.record(event(1))
    handle = site.launch("admin")

    response = site.client.get(f"/l/{handle}/admin/audit?date_from=yesterday&action=nope")

    assert response.status_code == 200
    assert "From date must look like 2026-01-31." in response.text
    assert "Choose an action from the list." in response.text
    assert _seqs(response.text) == [1]


def test_the_page_is_accessible_html_without_script(site: Site) -> None:
    site.log.record(event(1))
    handle = site.launch("admin")

    html = site.client.get(f"/l/{handle}/admin/audit").text

    controls = re.findall(r'<(?:input|select) (?![^>]*type="hidden")[^>]*id="([^"]+)"', html)
    assert len(controls) == 6
    for control in controls:
        assert f'<label for="{control}">' in html
    assert "<caption>" in html
    headers = re.findall(r"<th( [^>]*)?>", html)
    assert headers
    assert all(h and 'scope="' in h for h in headers)
    assert "<script" not in html.lower()


@pytest.mark.parametrize("roles", [("clinician",), ("front_desk",), ()])
def test_non_admins_are_forbidden(site: Site, roles: tuple[str, ...]) -> None:
    handle = site.launch(*roles)

    assert site.client.get(f"/l/{handle}/admin/audit").status_code == 403
    token = csrf_for(site.client)
    verify = site.client.post(f"/l/{handle}/admin/audit/verify", data={"csrf": token})
    assert verify.status_code == 403


def _csrf(site: Site, handle: str) -> str:
    page = site.client.get(f"/l/{handle}/admin/audit")
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found.group(1)


def test_verify_needs_the_form_token_and_reports_an_intact_chain(site: Site) -> None:
    for n in range(1, 4):
        site.log.record(event(n))
    handle = site.launch("admin")
    token = _csrf(site, handle)

    refused = site.client.post(f"/l/{handle}/admin/audit/verify", data={"csrf": "0" * 64})
    response = site.client.post(f"/l/{handle}/admin/audit/verify", data={"csrf": token})

    assert refused.status_code == 400
    assert response.status_code == 200
    assert 'data-verify="ok"' in response.text
    assert "3 entries checked" in response.text
    assert _seqs(response.text)[0] == 4  # the check itself is audited
    assert "audit:log:verify" in response.text


def test_verify_names_a_tampered_entry(site: Site) -> None:
    for n in range(1, 6):
        site.log.record(event(n))
    sql(site.db, "UPDATE audit_entries SET outcome = 'failure' WHERE seq = 3")
    handle = site.launch("admin")

    response = site.client.post(
        f"/l/{handle}/admin/audit/verify", data={"csrf": _csrf(site, handle)}
    )

    assert 'data-verify="problems"' in response.text
    assert 'data-kind="modified" data-seq="3"' in response.text
    assert 'role="alert"' in response.text
