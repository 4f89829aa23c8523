# SPDX-License-Identifier: Apache-2.0
"""Fixtures: a key-set server -> the EHR signing with its key -> Quietline with the EHR's
``(iss, jku)`` on the tenant's CDS allow-list -> a test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.unit.plugin.cds.support import EHR_ROOT
from tests.unit.plugin.cds.support import Ehr
from tests.unit.plugin.cds.support import RecordingServer
from tests.unit.plugin.cds.support import register_tenant
from tests.unit.plugin.support import EHR_ISS
from tests.unit.plugin.support import PUBLIC_URL


@pytest.fixture
def jwks_server() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture
def ehr(jwks_server: RecordingServer) -> Ehr:
    signer = Ehr(iss=EHR_ROOT, jku=f"{jwks_server.url}/cds/jwks.json", public_url=PUBLIC_URL)
    jwks_server.document = signer.jwks
    return signer


@pytest.fixture
def cds_app(flask_app: Flask, ehr: Ehr) -> Flask:
    register_tenant(flask_app, EHR_ISS, [{"iss": ehr.iss, "jku": ehr.jku}])
    return flask_app


@pytest.fixture
def cds(cds_app: Flask) -> FlaskClient:
    return cds_app.test_client()
