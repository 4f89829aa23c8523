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
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.provenance import Provenance
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Session

from plugin.crypto import Sealer
from plugin.outbox import Outbox
from plugin.outbox import OutboxItem
from plugin.outbox import OutboxStatus
from plugin.outbox import OutboxWorker
from plugin.outbox.services import remote_id_of
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

MakeWorker = Callable[..., OutboxWorker]
"""The ``make_worker`` fixture: a worker on the test clock; keyword arguments override."""


def make_keys() -> ClientKeys:
    """RS384 + ES384 keys; 2048-bit RSA keeps key loading cheap in the child processes."""
    rsa = RSAKey.generate_key(2048, parameters={"alg": "RS384", "use": "sig"}, private=True)
    ec = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    return ClientKeys(KeySet([rsa, ec]))


@contextmanager
def running_ehr(db_path: Path, keys: ClientKeys) -> Iterator[RunningSandbox]:
    """The sandbox with a Backend Services client that trusts ``keys``, stopped on the way out."""
    backend = ClientRegistration(
        client_id=BACKEND_CLIENT,
        auth_method="private_key_jwt",
        jwks=keys.public_jwks(),
        grant_types=("client_credentials",),
        scope=BACKEND_SCOPE,
    )
    running = start(SandboxConfig(db_path=db_path, clients=[backend]))
    try:
        yield running
    finally:
        running.stop()


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


def provenance(target: str) -> Provenance:
    """A Provenance of a signature by the staff member, targeting ``target``."""
    return Provenance.model_validate(
        {
            "resourceType": "Provenance",
            "target": [{"reference": target}],
            "recorded": "2026-01-05T10:00:00+00:00",
            "agent": [{"who": {"reference": STAFF}}],
        }
    )


def queue_note(
    session: Session,
    outbox: Outbox,
    value: str,
    *,
    tenant: str = TENANT,
    status: str = "current",
    **options: str,
) -> str:
    """Add a progress note carrying ``SYSTEM|value`` to ``session``; returns the item id."""
    return outbox.enqueue(
        session,
        tenant=tenant,
        resource=document(value, status=status),
        identifier_system=SYSTEM,
        identifier_value=value,
        created_by=STAFF,
        **options,
    )


def enqueue_note(db: Database, outbox: Outbox, value: str, **options: str) -> str:
    """Queue a progress note (see :func:`queue_note`) in a transaction of its own."""
    with db.session() as session:
        return queue_note(session, outbox, value, **options)


def queue_target(
    session: Session,
    outbox: Outbox,
    resource: Provenance,
    value: str,
    *,
    tenant: str = TENANT,
    **options: str,
) -> str:
    """Add ``resource`` to ``session``, idempotent on the version ``value`` it targets."""
    return outbox.enqueue(
        session,
        tenant=tenant,
        resource=resource,
        identifier_value=value,
        created_by=STAFF,
        search_param="target",
        **options,
    )


def read_row(db: Database, item_id: str) -> OutboxItem:
    with db.session() as session:
        return session.get_one(OutboxItem, item_id)


def all_rows(db: Database) -> list[OutboxItem]:
    with db.session() as session:
        return list(session.scalars(select(OutboxItem)))


def update_row(db: Database, item_id: str, **values: object) -> None:
    """Change an item's row behind the outbox's back."""
    with db.session() as session:
        session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))


def make_pending(db: Database, item_id: str, sealed_payload: bytes) -> None:
    """Put an item back to pending with its payload, as if the outcome of its delivery was lost."""
    update_row(db, item_id, status=OutboxStatus.PENDING.value, sealed_payload=sealed_payload)


def outbox_text(db: Database) -> str:
    """Every column of every outbox row as text, as a copy of the database would show it."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM outbox_items")).all()
    return "\n".join(
        bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
        for row in rows
        for v in row
    )


@dataclass(frozen=True)
class Queue:
    """One test's outbox queuing notes for one tenant, with its rows read back."""

    db: Database
    outbox: Outbox
    tenant: str
    cipher: Sealer

    def note(self, value: str, **options: str) -> str:
        """Queue a progress note carrying ``SYSTEM|value``; returns the item id."""
        return enqueue_note(self.db, self.outbox, value, tenant=self.tenant, **options)

    def row(self, item_id: str) -> OutboxItem:
        return read_row(self.db, item_id)

    def remote_id(self, item_id: str) -> str | None:
        """The EHR's id for the delivered item, opened from its sealed column."""
        return remote_id_of(self.cipher, self.row(item_id))


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
