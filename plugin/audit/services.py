# SPDX-License-Identifier: Apache-2.0
"""The tamper-evident audit log: a keyed hash chain per tenant in SQL.

Each entry ``n`` of a tenant carries::

    mac_n = HMAC-SHA256(K_tenant, mac_{n-1} || canonical_json(seq, at, actor, action,
                                                               outcome, subject, detail))

with ``mac_0`` = 32 zero bytes and ``K_tenant = provider.derive("q/audit", tenant)``.  Without
``K_tenant`` nobody can rewrite an entry and recompute a MAC that verifies, so an insider with
write access to the database (but not the key provider) can only break the chain, not forge it.

The log is append-only: :class:`SqlAuditLog` inserts entries and never updates or deletes one.
:func:`chain_snapshot` and :func:`chain_rows` read a chain back for verification.
Appends to one tenant are serialised by ``UPDATE audit_heads ... RETURNING`` inside the same
transaction as the insert; that row lock (PostgreSQL) or write lock (SQLite) makes the chain
correct across threads and processes sharing the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..crypto.interfaces import KeyProvider
from ..crypto.interfaces import KeyProviderError
from ..errors import PluginError
from ..store import Database
from .interfaces import AuditEvent
from .models import AuditEntry

__all__ = [
    "AUDIT_KEY_LABEL",
    "MAX_DETAIL_LENGTH",
    "OUTCOMES",
    "ZERO_MAC",
    "AuditRefused",
    "ChainKeys",
    "Fields",
    "Row",
    "SqlAuditLog",
    "canonical",
    "canonical_at",
    "chain_rows",
    "chain_snapshot",
    "check_event",
]

AUDIT_KEY_LABEL = "q/audit"
ZERO_MAC = bytes(32)
MAX_DETAIL_LENGTH = 200
OUTCOMES = frozenset({"success", "failure", "denied"})
_MAX_ACTOR = 500
_MAX_SUBJECT = 128
_BATCH = 10_000

# One encoder object: json.dumps(..., sort_keys=...) would build a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))

_BUMP_HEAD = text(
    "UPDATE audit_heads SET seq = seq + 1 WHERE tenant_id = :tenant RETURNING seq, mac"
)
_CREATE_HEAD = text(
    "INSERT INTO audit_heads (tenant_id, seq, mac) VALUES (:tenant, 0, :mac) "
    "ON CONFLICT (tenant_id) DO NOTHING"
)
_SET_HEAD_MAC = text("UPDATE audit_heads SET mac = :mac WHERE tenant_id = :tenant")
_INSERT_ENTRY = insert(AuditEntry)
"""Built once and run on the session's connection with a parameter dict: building
``insert(...).values(...)`` and running it through the ORM session was half an append."""


class AuditRefused(PluginError):
    """The event was not recorded: it could carry PHI or is malformed (nothing was written)."""

    error = "audit_refused"
    description = "Quietline refused to write an audit entry. Nothing was changed."
    status_code = 500


def canonical_at(at: datetime) -> str:
    """``at`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (naive values, as SQLite returns them, are UTC)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Fields = tuple[str, str, str, str, str | None, Mapping[str, Any]]
"""``(at, actor, action, outcome, subject, detail)``, ``at`` from :func:`canonical_at`."""
Row = tuple[int, str, str, str, str, str | None, dict[str, Any], str]
"""``(seq, *Fields, mac hex)`` as :func:`chain_rows` yields it."""


def canonical(seq: int, fields: Fields) -> bytes:
    """The bytes an entry's MAC covers: a JSON array with sorted ``detail`` keys, no spaces."""
    return _ENCODER.encode([seq, *fields]).encode()


class ChainKeys:
    """Per-tenant HMAC objects keyed with ``K_tenant``, cached in memory.

    :meth:`mac` copies the cached object, so the key schedule is computed once per tenant.

    :param label: the provider key the per-tenant keys derive from; the chain uses
        :data:`AUDIT_KEY_LABEL`, checkpoint signatures their own label.
    """

    def __init__(self, provider: KeyProvider, label: str = AUDIT_KEY_LABEL) -> None:
        self._provider = provider
        self._label = label
        self._bases: dict[str, hmac.HMAC] = {}
        self._lock = threading.Lock()

    def base(self, tenant: str) -> hmac.HMAC:
        """A keyed HMAC-SHA256 object for ``tenant``; call ``copy()`` before updating it."""
        found = self._bases.get(tenant)
        if found is not None:
            return found
        with self._lock:
            found = self._bases.get(tenant)
            if found is None:
                self._ensure_key()
                key = self._provider.derive(self._label, tenant.encode())
                found = hmac.new(key, digestmod=hashlib.sha256)
                self._bases[tenant] = found
            return found

    def mac(self, tenant: str, previous: bytes, body: bytes) -> bytes:
        """``HMAC(K_tenant, previous || body)``."""
        h = self.base(tenant).copy()
        h.update(previous)
        h.update(body)
        return h.digest()

    def _ensure_key(self) -> None:
        if self._provider.has_key(self._label):
            return
        try:
            self._provider.create_key(self._label, "hmac")
        except KeyProviderError:
            # Another process created it first; anything else leaves the label missing.
            if not self._provider.has_key(self._label):
                raise


def check_event(event: AuditEvent) -> None:
    """The PHI guard: ``detail`` holds only short codes, ids, counts and flags.

    :raises AuditRefused: for a value that is not ``str``/``int``/``bool``, a string longer
        than 200 characters, an unknown outcome, or an over-long actor or subject.
    """
    if event.outcome not in OUTCOMES:
        raise AuditRefused(f"Unknown audit outcome {event.outcome!r}.")
    if not event.actor or len(event.actor) > _MAX_ACTOR:
        raise AuditRefused("The audit actor is missing or too long.")
    if event.subject is not None and len(event.subject) > _MAX_SUBJECT:
        raise AuditRefused("The audit subject must be a pseudonym.")
    for name, value in event.detail.items():
        if not isinstance(name, str) or len(name) > 64:
            raise AuditRefused("Audit detail keys are short strings.")
        if not isinstance(value, str | int | bool):
            raise AuditRefused(f"Audit detail {name!r} is not a string, integer or flag.")
        if isinstance(value, str) and len(value) > MAX_DETAIL_LENGTH:
            raise AuditRefused(f"Audit detail {name!r} is longer than {MAX_DETAIL_LENGTH}.")


class SqlAuditLog:
    """:class:`~plugin.audit.interfaces.AuditSink` over ``audit_entries`` and ``audit_heads``.

    Append-only: entries are inserted, never updated or deleted.
    """

    def __init__(self, db: Database, provider: KeyProvider) -> None:
        self._db = db
        self.keys = ChainKeys(provider)

    def record(self, event: AuditEvent, *, session: Session | None = None) -> None:
        """Append ``event`` to its tenant's chain.

        :param session: the caller's session; the entry then commits or rolls back with the
            change it describes.  Without it the entry commits on its own.
        :raises AuditRefused: when the PHI guard refuses ``event`` (nothing is written).
        """
        check_event(event)
        self.keys.base(event.tenant)  # fail before touching the database if keys are down
        if session is not None:
            self._append(session, event)
            return
        with self._db.session() as own:
            self._append(own, event)

    def _append(self, session: Session, event: AuditEvent) -> None:
        tenant = event.tenant
        conn = session.connection()
        row = conn.execute(_BUMP_HEAD, {"tenant": tenant}).one_or_none()
        if row is None:
            conn.execute(_CREATE_HEAD, {"tenant": tenant, "mac": ZERO_MAC.hex()})
            row = conn.execute(_BUMP_HEAD, {"tenant": tenant}).one()
        seq, previous = int(row[0]), bytes.fromhex(row[1])
        at = datetime.now(UTC)
        detail = dict(event.detail)
        fields = (canonical_at(at), event.actor, event.action.value, event.outcome)
        body = canonical(seq, (*fields, event.subject, detail))
        mac = self.keys.mac(tenant, previous, body).hex()
        conn.execute(
            _INSERT_ENTRY,
            {
                "tenant_id": tenant,
                "seq": seq,
                "at": at,
                "actor": event.actor,
                "action": event.action.value,
                "outcome": event.outcome,
                "subject": event.subject,
                "detail": detail,
                "mac": mac,
            },
        )
        conn.execute(_SET_HEAD_MAC, {"tenant": tenant, "mac": mac})


@contextmanager
def chain_snapshot(db: Database) -> Iterator[Connection]:
    """A read transaction whose every statement sees the same committed state."""
    sqlite = db.engine.dialect.name == "sqlite"
    options = {} if sqlite else {"isolation_level": "REPEATABLE READ"}
    with db.engine.connect().execution_options(**options) as conn:
        if sqlite:
            conn.exec_driver_sql("BEGIN")  # WAL: the snapshot holds until the rollback
        try:
            yield conn
        finally:
            conn.rollback()


def chain_rows(conn: Connection, tenant: str) -> Iterator[Row]:
    """``tenant``'s entries in ``seq`` order with ``at`` canonical, streamed in batches."""
    if conn.dialect.name == "sqlite":
        # The raw cursor skips SQLAlchemy's per-row type processing (a third of the time).
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.arraysize = _BATCH
        cursor.execute(
            "SELECT seq, at, actor, action, outcome, subject, detail, mac FROM audit_entries "
            "WHERE tenant_id = ? ORDER BY seq, id",
            (tenant,),
        )
        loads = json.loads
        while batch := cursor.fetchmany():
            for seq, at, actor, action, outcome, subject, detail, mac in batch:
                stamp = at[:10] + "T" + at[11:] + "Z" if len(at) == 26 else _sqlite_at(at)
                yield seq, stamp, actor, action, outcome, subject, loads(detail), mac
        cursor.close()
        return
    e = AuditEntry
    query = select(e.seq, e.at, e.actor, e.action, e.outcome, e.subject, e.detail, e.mac)
    result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
        query.where(e.tenant_id == tenant).order_by(e.seq, e.id)
    )
    for seq, at, actor, action, outcome, subject, detail, mac in result:
        yield seq, canonical_at(at), actor, action, outcome, subject, detail, mac


def _sqlite_at(value: str) -> str:
    return canonical_at(datetime.fromisoformat(value))
