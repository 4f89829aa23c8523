# SPDX-License-Identifier: Apache-2.0
"""Helpers for the CDS Hooks tests: an EHR that signs JWTs, a server for its key set, request
bodies, enrolled clients and the "no nulls, no empty strings" check."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey
from sqlalchemy import select

from plugin.audit.models import AuditEntry
from plugin.codeword.models import CodewordProtocolRow
from plugin.codeword.models import CodewordRow
from plugin.registry import get_service
from plugin.server import ServerThread
from plugin.store import Database
from plugin.tenants.interfaces import TenantRepository
from plugin.tenants.services import TenantRegistration
from plugin.vault.services import VaultService

EHR_ROOT = "http://127.0.0.1:8700"
SERVICE_PATH = "/cds-services/quietline-appointment-book"
FEEDBACK_PATH = SERVICE_PATH + "/feedback"
UNSAID = (
    "stalk",
    "abuse",
    "violence",
    "danger",
    "safety",
    "threat",
    "harass",
    "victim",
    "domestic",
)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


class RecordingServer:
    """A local HTTP server answering every request with ``document`` (or ``status``) and
    recording what it received: the EHR's key URL, or a FHIR server that must stay unused."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.status = 200
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ServerThread("127.0.0.1", 0, self)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = {
            key[5:].replace("_", "-").title(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        with self._lock:
            self.requests.append(Recorded(environ["REQUEST_METHOD"], environ["PATH_INFO"], headers))
        body = json.dumps(self.document).encode()
        start_response(f"{self.status} X", [("Content-Type", "application/json")])
        return [body]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> RecordingServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


def closed_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@dataclass
class Ehr:
    """The EHR's CDS Hooks signing side: ES384 by default, key published at ``jku``."""

    iss: str
    jku: str
    public_url: str
    key: ECKey | RSAKey = field(
        default_factory=lambda: ECKey.generate_key(
            "P-384", parameters={"kid": "ehr-1"}, private=True
        )
    )

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def claims(self, path: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.iss,
            "aud": self.public_url + path,
            "exp": now + 300,
            "iat": now,
            "jti": secrets.token_urlsafe(16),
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        path: str = SERVICE_PATH,
        *,
        header: dict[str, Any] | None = None,
        key: ECKey | RSAKey | OctKey | None = None,
        **claims: Any,
    ) -> str:
        head: dict[str, Any] = {"alg": "ES384", "typ": "JWT", "kid": self.key.kid, "jku": self.jku}
        head.update(header or {})
        head = {k: v for k, v in head.items() if v is not None}
        body = self.claims(path, **claims)
        if head["alg"] == "none":
            return f"{_b64(head)}.{_b64(body)}."
        return jwt.encode(head, body, key or self.key, algorithms=[head["alg"]])

    def auth(self, path: str = SERVICE_PATH, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path, **kwargs)}"}


def register_tenant(
    app: Flask, iss: str, clients: list[dict[str, str]], *, tenant: str = "ehr"
) -> None:
    """Register (or replace) ``tenant`` with ``clients`` on its CDS allow-list."""
    get_service(TenantRepository, app).register(
        TenantRegistration(
            id=tenant,
            name="Test EHR",
            iss=iss,
            client_id="quietline",
            auth_method="private_key_jwt",
            scope="launch openid fhirUser patient/Patient.rs",
            frame_origins=("http://127.0.0.1:8700",),
            options={"cds": {"clients": clients}},
        )
    )


def patient(patient_id: str = "pat-1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"family": "Rivera", "given": ["Sam"]}],
        "birthDate": "1990-04-02",
        **extra,
    }


def appointment(appointment_id: str | None = "apt-1", patient_id: str = "pat-1") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "proposed",
        "start": "2026-03-02T10:00:00Z",
        "end": "2026-03-02T10:30:00Z",
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "needs-action"},
            {"actor": {"reference": "Practitioner/prac-1"}, "status": "accepted"},
        ],
    }
    if appointment_id is not None:
        resource["id"] = appointment_id
    return resource


_UNSET: Any = object()


def hook_body(
    patient_id: str = "pat-1",
    *,
    prefetched: Any = _UNSET,
    appointment_id: str | None = "apt-1",
    **top: Any,
) -> dict[str, Any]:
    """An ``appointment-book`` request; ``prefetched`` defaults to the Patient itself."""
    body: dict[str, Any] = {
        "hook": "appointment-book",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/prac-1",
            "patientId": patient_id,
            "appointments": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": appointment(appointment_id, patient_id)}],
            },
        },
    }
    body["prefetch"] = {"patient": patient(patient_id) if prefetched is _UNSET else prefetched}
    body.update(top)
    return body


def without_prefetch(patient_id: str = "pat-1", **top: Any) -> dict[str, Any]:
    body = hook_body(patient_id, **top)
    del body["prefetch"]
    return body


def enroll(app: Flask, tenant: str, patient_id: str) -> None:
    """Give ``patient_id`` an enrolled word (the digest is arbitrary bytes: never checked here)."""
    pseudonym = get_service(VaultService, app).pseudonym(tenant, patient_id)
    with get_service(Database, app).session() as session:
        session.add(
            CodewordRow(
                id=str(uuid.uuid4()),
                tenant_id=tenant,
                patient_pseudonym=pseudonym,
                salt=secrets.token_bytes(16),
                digest=secrets.token_bytes(32),
                params={},
                treating_clinician="Practitioner/prac-1",
                enrolled_by="Practitioner/prac-1",
                enrolled_at=datetime.now(UTC),
            )
        )


def set_actions(app: Flask, tenant: str, actions: list[str]) -> None:
    with get_service(Database, app).session() as session:
        session.merge(
            CodewordProtocolRow(
                tenant_id=tenant,
                settings={"actions": actions},
                version=1,
                updated_at=datetime.now(UTC),
                updated_by="Practitioner/admin",
            )
        )


def audit_entries(app: Flask, action: str) -> list[AuditEntry]:
    with get_service(Database, app).session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


def assert_no_empty(value: Any, path: str = "$") -> None:
    """CDS Hooks: "JSON SHALL NOT contain nulls or empty values" (lists may be empty, as
    ``{"cards": []}`` is the spec's own answer)."""
    assert value is not None, f"null at {path}"
    if isinstance(value, str):
        assert value.strip(), f"empty string at {path}"
    elif isinstance(value, dict):
        assert value, f"empty object at {path}"
        for key, item in value.items():
            assert_no_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_empty(item, f"{path}[{index}]")


def card_texts(card: dict[str, Any]) -> list[str]:
    """Everything in a card a person could read."""
    texts = [card["summary"], card.get("detail", ""), card["source"]["label"]]
    texts.append(card["source"].get("topic", {}).get("display", ""))
    texts.extend(link["label"] for link in card.get("links", []))
    return texts
