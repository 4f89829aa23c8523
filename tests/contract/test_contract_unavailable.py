# SPDX-License-Identifier: Apache-2.0
"""A server that has stopped answers nothing: the clients say so with UpstreamUnavailable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from smart_launch.backend import BackendServicesClient
from smart_launch.errors import UpstreamUnavailable
from smart_launch.fhir import FhirClient

from .conftest import SCOPE
from .conftest import backend_for
from .conftest import new_patient

if TYPE_CHECKING:
    from collections.abc import Callable

    from smart_launch.keys import ClientKeys

    from .conftest import ContractServer


def test_a_stopped_server_is_reported_unavailable(
    start_server: Callable[[], ContractServer], client_keys: ClientKeys, unique: str
) -> None:
    server = start_server()
    backend = backend_for(server, client_keys)
    fhir = FhirClient(server.fhir_base, backend)
    pid = str(fhir.create(new_patient(unique)).versioned.resource.id)
    fresh_backend = BackendServicesClient(
        server.fhir_base,
        server.client_ids["RS384"],
        client_keys,
        SCOPE,
        token_endpoint=backend.token_endpoint,
    )

    server.stop()

    with pytest.raises(UpstreamUnavailable):
        fhir.read("Patient", pid)
    with pytest.raises(UpstreamUnavailable):
        fresh_backend.access_token()
    with pytest.raises(UpstreamUnavailable):
        backend_for(server, client_keys).access_token()  # discovery itself
