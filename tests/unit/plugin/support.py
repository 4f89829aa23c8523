# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the plugin unit tests (plain functions, no fixtures)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from plugin.tenants.services import TenantRegistration
from smart_launch.keys import ClientKeys

PUBLIC_URL = "http://localhost:8701"
EHR_ORIGIN = "http://127.0.0.1:8700"
EHR_ISS = "http://127.0.0.1:8700/fhir"


def write_client_keys(path: Path, keys: ClientKeys) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(keys.private_jwks(), handle)


def registration(**overrides: object) -> TenantRegistration:
    values: dict[str, object] = {
        "id": "ehr",
        "name": "Test EHR",
        "iss": EHR_ISS,
        "client_id": "quietline",
        "auth_method": "private_key_jwt",
        "scope": "launch openid fhirUser patient/Patient.rs",
        "frame_origins": (EHR_ORIGIN,),
    }
    values.update(overrides)
    return TenantRegistration(**values)  # type: ignore[arg-type]
