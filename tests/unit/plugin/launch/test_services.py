# SPDX-License-Identifier: Apache-2.0
"""LaunchTokenSource: uses the stored token until it is about to expire."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from plugin.errors import SessionExpired
from plugin.launch.services import REFRESH_MARGIN
from plugin.launch.services import LaunchService
from plugin.launch.services import LaunchTokenSource
from plugin.launch.store import LiveLaunch
from plugin.launch.store import StoredTokens
from plugin.registry import get_service
from smart_launch.context import LaunchContext
from tests.unit.plugin.support import EHR_ISS


def _live(expires_in: float, refresh_token: str | None = None) -> LiveLaunch:
    return LiveLaunch(
        handle="h",
        context=LaunchContext(
            tenant="ehr",
            iss=EHR_ISS,
            patient="p1",
            encounter=None,
            fhir_user=None,
            scopes=(),
            need_patient_banner=False,
            smart_style_url=None,
        ),
        roles=(),
        tokens=StoredTokens("current-access", time.time() + expires_in, refresh_token),
    )


def test_fresh_token_is_used_as_is(flask_app: Flask) -> None:
    service = get_service(LaunchService, flask_app)

    source = LaunchTokenSource(service, _live(3600, refresh_token="r"))

    assert source.access_token() == "current-access"


def test_expiring_token_without_refresh_token_is_used_until_it_expires(flask_app: Flask) -> None:
    service = get_service(LaunchService, flask_app)

    source = LaunchTokenSource(service, _live(REFRESH_MARGIN / 2))

    assert source.access_token() == "current-access"


def test_expired_token_without_refresh_token_ends_the_session(flask_app: Flask) -> None:
    service = get_service(LaunchService, flask_app)

    with pytest.raises(SessionExpired):
        LaunchTokenSource(service, _live(-1)).access_token()


def test_patient_banner_needs_a_patient(flask_app: Flask) -> None:
    service = get_service(LaunchService, flask_app)
    live = _live(3600)
    no_patient = LiveLaunch(
        live.handle,
        LaunchContext.from_dict({**live.context.to_dict(), "patient": None}),
        live.roles,
        live.tokens,
    )

    assert service.patient_banner(no_patient) is None
