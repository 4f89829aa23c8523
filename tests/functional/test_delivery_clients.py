# SPDX-License-Identifier: Apache-2.0
"""EHR writes go out with the clinician's own token while the launch is live, and with a
separately registered backend client after it ended.

The sandbox is set up like an EHR that registers the two apps apart: the launch client
authenticates with a client secret and may not use ``client_credentials``; the backend client
is a ``private_key_jwt`` client (Quietline's JWKS URL) with ``system/`` scopes only.  The sandbox
records who each write was made for (the token's user, or none for a system token).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin.launch.scopes import DEFAULT_SCOPE
from plugin.outbox.models import OutboxItem
from plugin.outbox.worker import OutboxWorker
from plugin.registry import get_service
from plugin.store import Database
from plugin.tenants.services import BackendClient
from smart_launch.sandbox.request_log import WriteRecord
from smart_launch.sandbox.server import RunningSandbox
from tests.support.forms import csrf
from tests.support.forms import textarea
from tests.support.servers import Quietline
from tests.support.servers import register_sandbox_tenant
from tests.support.servers import start_sandbox
from tests.support.walker import Walker
from tests.support.walker import iframe_src

LAUNCH_CLIENT = "secret-app"
LAUNCH_SECRET = "launch-client-secret-0123456789abcdef"
BACKEND = "quietline-backend"


# "other-ehr": refresh tokens only with offline_access, fhirUser as a relative PractitionerRole
# and ES256 id_tokens, as some EHRs do; every test here runs against both kinds.
EHR_MODES = {
    "plain": {},
    "other-ehr": {
        "refresh_requires_offline": True,
        "fhir_user_type": "PractitionerRole",
        "id_token_alg": "ES256",
    },
}


@pytest.fixture(params=sorted(EHR_MODES))
def sandbox(
    request: pytest.FixtureRequest, tmp_path: Path, quietline: Quietline
) -> Iterator[RunningSandbox]:
    settings = quietline.settings
    running = start_sandbox(
        tmp_path / "sandbox.db",
        quietline,
        **EHR_MODES[request.param],
        extra_clients=(
            {
                "client_id": LAUNCH_CLIENT,
                "auth_method": "client_secret_basic",
                "client_secret": LAUNCH_SECRET,
                "scope": f"{DEFAULT_SCOPE} launch/patient",
                "grant_types": ["authorization_code", "refresh_token"],
            },
            {
                "client_id": BACKEND,
                "auth_method": "private_key_jwt",
                "jwks_uri": settings.jwks_url,
                "scope": settings.outbox_scope,
                "grant_types": ["client_credentials"],
                "redirect_uris": [],
                "launch_url": None,
            },
        ),
    )
    yield running
    running.stop()


def _register(
    quietline: Quietline, sandbox: RunningSandbox, *, backend: BackendClient | None
) -> None:
    register_sandbox_tenant(
        quietline,
        sandbox,
        auth_method="client_secret_basic",
        client_id=LAUNCH_CLIENT,
        client_secret=LAUNCH_SECRET,
        backend=backend,
        backend_on_launch_client=False,
    )


def _backend(quietline: Quietline) -> BackendClient:
    return BackendClient(
        client_id=BACKEND,
        auth_method="private_key_jwt",
        signing_alg="RS384",
        scope=quietline.settings.outbox_scope,
    )


def _launch(walker: Walker, sandbox: RunningSandbox) -> str:
    chart = walker.get(f"{sandbox.url}/ehr/launch?patient=pat-1&user=therapist&app={LAUNCH_CLIENT}")
    assert chart.status_code == 200, chart.text[:300]
    home = walker.get(iframe_src(chart.text))
    assert home.status_code == 200, home.text[:300]
    return home.url.rstrip("/")


def _sign(walker: Walker, base: str) -> None:
    index = walker.get(f"{base}/notes/")
    editor = walker.post(
        f"{base}/notes/draft",
        {"csrf": csrf(index.text), "screening_completed": "yes", "follow_up": "next-session"},
    )
    text = textarea(editor.text, "note-text")
    signed = walker.post(
        f"{base}/notes/sign", {"csrf": csrf(editor.text), "text": text, "release": "release"}
    )
    assert signed.status_code == 200
    assert 'id="signed-notice"' in signed.text


def _end(walker: Walker, base: str) -> None:
    home = walker.get(f"{base}/")
    ended = walker.post(f"{base}/end", {"csrf": csrf(home.text)})
    assert ended.status_code == 200


def _sign_in_an_ended_launch(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker, backend: BackendClient | None
) -> str:
    """Register the tenant with ``backend``, sign a note in a launch and end it; returns its base."""
    _register(quietline, sandbox, backend=backend)
    base = _launch(walker, sandbox)
    _sign(walker, base)
    _end(walker, base)
    return base


def _document_writes(sandbox: RunningSandbox) -> list[WriteRecord]:
    return [w for w in sandbox.request_log.writes() if w.resource_type == "DocumentReference"]


def _statuses(quietline: Quietline) -> list[str]:
    with get_service(Database, quietline.app).session() as session:
        return list(session.scalars(select(OutboxItem.status)))


def _client_credentials_requests(sandbox: RunningSandbox) -> list[str]:
    return [
        r.form.get("client_assertion", "") or r.headers.get("Authorization", "")
        for r in sandbox.request_log.matching("/auth/token", "POST")
        if r.form.get("grant_type") == "client_credentials"
    ]


def test_a_note_signed_during_the_launch_is_written_as_the_clinician(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _register(quietline, sandbox, backend=_backend(quietline))
    base = _launch(walker, sandbox)
    _sign(walker, base)

    assert get_service(OutboxWorker, quietline.app).run_once() == 1

    assert _statuses(quietline) == ["delivered"]
    (write,) = _document_writes(sandbox)
    assert (write.client_id, write.user_id) == (LAUNCH_CLIENT, "therapist")
    assert _client_credentials_requests(sandbox) == []


def test_after_the_launch_ended_the_backend_client_writes(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    _sign_in_an_ended_launch(quietline, sandbox, walker, _backend(quietline))

    assert get_service(OutboxWorker, quietline.app).run_once() == 1

    assert _statuses(quietline) == ["delivered"]
    (write,) = _document_writes(sandbox)
    assert (write.client_id, write.user_id) == (BACKEND, None)
    assert len(_client_credentials_requests(sandbox)) == 1


def test_without_credentials_the_delivery_needs_attention_until_a_backend_client_is_registered(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    base = _sign_in_an_ended_launch(quietline, sandbox, walker, None)
    worker = get_service(OutboxWorker, quietline.app)

    assert worker.run_once() == 1
    assert _statuses(quietline) == ["needs_attention"]
    assert worker.run_once() == 0  # not retried silently
    assert _document_writes(sandbox) == []

    base = _launch(walker, sandbox)
    home = walker.get(f"{base}/")
    assert 'data-kind="delivery-needs-attention"' in home.text
    notes = walker.get(f"{base}/notes/")
    assert 'data-status="needs_attention"' in notes.text
    (item_id,) = _item_ids(quietline)
    assert f"/notes/deliveries/{item_id}/retry" in notes.text

    _register(quietline, sandbox, backend=_backend(quietline))
    retried = walker.post(f"{base}/notes/deliveries/{item_id}/retry", {"csrf": csrf(notes.text)})
    assert retried.status_code == 200
    assert 'data-status="pending"' in retried.text

    assert worker.run_once() == 1
    assert _statuses(quietline) == ["delivered"]
    (write,) = _document_writes(sandbox)
    assert (write.client_id, write.user_id) == (BACKEND, None)  # the queuing launch ended
    assert 'data-kind="delivery-needs-attention"' not in walker.get(f"{base}/").text


def test_a_refused_backend_client_needs_attention(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    refused = BackendClient(
        client_id="not-registered",
        auth_method="private_key_jwt",
        signing_alg="RS384",
        scope=quietline.settings.outbox_scope,
    )
    _sign_in_an_ended_launch(quietline, sandbox, walker, refused)

    assert get_service(OutboxWorker, quietline.app).run_once() == 1

    with get_service(Database, quietline.app).session() as session:
        row = session.scalars(select(OutboxItem)).one()
    assert row.status == "needs_attention"
    assert row.last_error_code is not None
    assert row.last_error_code.startswith("token_request_failed")
    assert len(_client_credentials_requests(sandbox)) == 1


def _item_ids(quietline: Quietline) -> list[str]:
    with get_service(Database, quietline.app).session() as session:
        return list(session.scalars(select(OutboxItem.id)))


def test_the_home_page_offers_the_retry_to_whoever_queued_it(
    quietline: Quietline, sandbox: RunningSandbox, walker: Walker
) -> None:
    base = _sign_in_an_ended_launch(quietline, sandbox, walker, None)
    get_service(OutboxWorker, quietline.app).run_once()
    (item_id,) = _item_ids(quietline)

    other = Walker()
    chart = other.get(f"{sandbox.url}/ehr/launch?patient=pat-1&user=admin&app={LAUNCH_CLIENT}")
    other_home = other.get(iframe_src(chart.text))
    assert other_home.status_code == 200
    assert 'data-kind="delivery-needs-attention"' not in other_home.text

    base = _launch(walker, sandbox)
    home = walker.get(f"{base}/")
    retry = f"{base.removeprefix(quietline.url)}/deliveries/{item_id}/retry"
    assert f'action="{retry}"' in home.text
    assert "stalk" not in home.text.lower()
    _register(quietline, sandbox, backend=_backend(quietline))
    token = re.search(
        rf'action="{re.escape(retry)}"><input type="hidden" name="csrf" value="([^"]+)"', home.text
    )
    assert token is not None
    done = walker.post(f"{base}/deliveries/{item_id}/retry", {"csrf": token.group(1)})
    assert done.status_code == 200
    assert _statuses(quietline) == ["pending"]
    assert 'data-kind="delivery-needs-attention"' not in done.text
