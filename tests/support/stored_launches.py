# SPDX-License-Identifier: Apache-2.0
"""Launches written straight into the launch store, as a finished callback would leave them."""

from __future__ import annotations

import time

from plugin.crypto import lookup_hash
from plugin.launch.store import SqlLaunchStore
from plugin.launch.store import StoredTokens
from smart_launch.context import LaunchContext

ACCESS_TOKEN = "access-token-value"


def stored_launch(
    store: SqlLaunchStore,
    session_id: str,
    iss: str,
    roles: tuple[str, ...],
    *,
    patient: str | None = None,
    staff: str = "Practitioner/7",
) -> str:
    """Store a launch of tenant ``ehr`` by ``staff`` for the browser whose signed session id is
    ``session_id``; return its handle. The access token is ``ACCESS_TOKEN`` and lasts an hour."""
    return store.create(
        session_hash=lookup_hash(session_id),
        context=LaunchContext(
            tenant="ehr",
            iss=iss,
            patient=patient,
            encounter=None,
            fhir_user=f"{iss}/{staff}",
            scopes=("launch", "openid", "fhirUser"),
            need_patient_banner=False,
            smart_style_url=None,
        ),
        roles=roles,
        tokens=StoredTokens(ACCESS_TOKEN, time.time() + 3600, None),
        missing_scopes=(),
    )
