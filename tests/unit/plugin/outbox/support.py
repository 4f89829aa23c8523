# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the outbox tests and the recovery test's child processes (no fixtures).

The EHR is the real sandbox over HTTP with a SMART Backend Services client registered under
the test keys, exactly as a production EHR would hold Quietline's public JWKS.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from fhir.resources.R4B.documentreference import DocumentReference
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from plugin.crypto import Sealer
from plugin.outbox import OutboxItem
from plugin.store import Base
from plugin.store import Database
from plugin.tenants.models import Tenant
from plugin.tenants.services import SqlTenantRepository
from plugin.tenants.services import TenantRegistration
from smart_launch.backend import BackendServicesClient
from smart_launch.fhir import FhirClient
from smart_launch.keys import ClientKeys
from smart_launch.sandbox.config import ClientRegistration
from smart_launch.sandbox.config import SandboxConfig
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.server import start

SYSTEM = "urn:quietline:outbox-test"
BACKEND_CLIENT = "quietline-backend"
BACKEND_SCOPE = "system/DocumentReference.cruds system/Provenance.c"
TENANT = "ehr"
STAFF = "Practitioner/therapist-1"


def make_keys() -> ClientKeys:
    """RS384 + ES384 keys; 2048-bit RSA keeps key loading cheap in the child processes."""
    rsa = RSAKey.generate_key(2048, parameters={"alg": "RS384", "use": "sig"}, private=True)
    ec = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    return ClientKeys(KeySet([rsa, ec]))


def start_ehr(db_path: Path, keys: ClientKeys) -> RunningSandbox:
    """The sandbox with a Backend Services client that trusts ``keys``."""
    backend = ClientRegistration(
        client_id=BACKEND_CLIENT,
        auth_method="private_key_jwt",
        jwks=keys.public_jwks(),
        grant_types=("client_credentials",),
        scope=BACKEND_SCOPE,
    )
    return start(SandboxConfig(db_path=db_path, clients=[backend]))


def prepare_database(url: str) -> Database:
    """Create the two tables the outbox uses from the models.

    The outbox's Alembic migration is added separately, and the tenants table is changing in
    parallel work, so the tests do not depend on the migration chain's current head.
    """
    db = Database(url)
    tables = [Tenant.__table__, OutboxItem.__table__]
    Base.metadata.create_all(db.engine, tables=tables)  # type: ignore[arg-type]
    return db


def tenant_repository(db: Database, token_key: bytes, keys: ClientKeys) -> SqlTenantRepository:
    return SqlTenantRepository(db, Sealer(token_key, "tenant-secret"), keys)


def register_tenant(tenants: SqlTenantRepository, ehr: RunningSandbox) -> None:
    tenants.register(
        TenantRegistration(
            id=TENANT,
            name="Outbox test EHR",
            iss=ehr.fhir_base,
            client_id=BACKEND_CLIENT,
            auth_method="private_key_jwt",
            scope="launch openid fhirUser",
            frame_origins=(ehr.url,),
        )
    )


def cipher(key: bytes) -> Sealer:
    """The outbox payload cipher as the app wires it: a purpose-bound :class:`Sealer`."""
    return Sealer(key, "outbox")


def new_value() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def document(value: str, *, status: str = "current", system: str = SYSTEM) -> DocumentReference:
    """A minimal progress note carrying the idempotency identifier ``system|value``."""
    text = base64.b64encode(b"A safety screening took place.").decode()
    return DocumentReference.model_validate(
        {
            "resourceType": "DocumentReference",
            "identifier": [{"system": system, "value": value}],
            "status": status,
            "docStatus": "final",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
            "subject": {"reference": "Patient/pat-1"},
            "content": [{"attachment": {"contentType": "text/plain", "data": text}}],
        }
    )


def system_client(ehr: RunningSandbox, keys: ClientKeys) -> FhirClient:
    """A client with a ``system/`` token, to read back what the EHR holds."""
    return FhirClient(
        ehr.fhir_base, BackendServicesClient(ehr.fhir_base, BACKEND_CLIENT, keys, BACKEND_SCOPE)
    )


def stored_ids(client: FhirClient, value: str, system: str = SYSTEM) -> list[str]:
    """Ids of the DocumentReferences in the EHR carrying ``system|value``."""
    found = client.search("DocumentReference", {"identifier": f"{system}|{value}"})
    return [str(resource.id) for resource in found]


def document_posts(ehr: RunningSandbox) -> int:
    return len(ehr.request_log.matching("/fhir/DocumentReference", "POST"))


@dataclass
class Clock:
    """An injectable clock (seconds since the epoch) that only moves when told."""

    now: float = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class ChildConfig:
    """What a child process needs to reach the same database, keys and EHR."""

    database_url: str
    keys_path: str
    token_key: str
    payload_key: str

    def to_env(self) -> dict[str, str]:
        return {**os.environ, "OUTBOX_CHILD": json.dumps(self.__dict__)}

    @classmethod
    def from_env(cls) -> ChildConfig:
        return cls(**json.loads(os.environ["OUTBOX_CHILD"]))
