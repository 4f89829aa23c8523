# SPDX-License-Identifier: Apache-2.0
"""Queueing EHR writes and listing them for the clinician.

Design section 6, "Writes to the EHR": "the local state change and the outbox row commit in one
transaction; a worker delivers with retries, backoff and an idempotency key (conditional create
on an identifier)".  :meth:`Outbox.enqueue` therefore only adds the row to the caller's session
and never commits; :mod:`plugin.outbox.worker` delivers it.  A Provenance has no identifier
in R4, so its create is made idempotent on the versioned reference it targets instead
(``search_param="target"``).

An item also records, sealed, the launch that queued it (from ``flask.g.launch``, set by
:func:`plugin.launch.guard.launch_required`, unless the caller names one): while that launch is
live the worker writes with the clinician's own token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from urllib.parse import urlencode

from fhir.resources.R4B.resource import Resource
from flask import g
from flask import has_app_context
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..crypto import SealError
from ..store import Database
from .interfaces import MissingIdempotencyKey
from .interfaces import NotRetryable
from .interfaces import OutboxItemNotFound
from .interfaces import PayloadCipher
from .models import OutboxItem
from .models import OutboxStatus
from .sealed import identifier_of
from .sealed import launch_handle_of
from .sealed import remote_id_of
from .sealed import seal_for_row

__all__ = [
    "OPEN_STATUSES",
    "RETRYABLE_STATUSES",
    "SEARCH_PARAMS",
    "Outbox",
    "OutboxEntry",
    "identifier_of",
    "if_none_exist",
    "launch_handle_of",
    "payload_aad",
    "remote_id_of",
    "seal_for_row",
]

OPEN_STATUSES: tuple[OutboxStatus, ...] = (
    OutboxStatus.PENDING,
    OutboxStatus.DELIVERING,
    OutboxStatus.FAILED,
    OutboxStatus.NEEDS_ATTENTION,
)
"""What the clinician needs to see: everything not yet delivered."""

_TOKEN_SPECIALS = frozenset("|,$\\")
"""Characters a FHIR token search would need escaped; refused in idempotency identifiers."""


SEARCH_PARAMS = frozenset({"identifier", "target"})
"""How a queued create is made idempotent: ``identifier=system|value`` on the resource's own
identifier, or ``target=<reference>`` for a Provenance (which has no identifier in R4)."""


RETRYABLE_STATUSES: tuple[OutboxStatus, ...] = (OutboxStatus.FAILED, OutboxStatus.NEEDS_ATTENTION)
"""What a person can put back in the queue."""


def payload_aad(item: OutboxItem, identifier_value: str | None = None) -> bytes:
    """The associated data binding a sealed payload to its row, tenant and idempotency key.

    :param identifier_value: the clear identifier when the row no longer holds it.
    """
    parts = [
        "quietline-outbox",
        item.id,
        item.tenant_id,
        item.kind,
        item.resource_type,
        item.identifier_system,
        identifier_value if identifier_value is not None else item.identifier_value or "",
    ]
    if (item.search_param or "identifier") != "identifier":  # older rows keep their binding
        parts.append(item.search_param)
    return "\x1f".join(parts).encode()


def _current_launch() -> str | None:
    """The handle of the launch of the current request, if any."""
    if not has_app_context():
        return None
    live = g.get("launch")
    handle = getattr(live, "handle", None)
    return handle if isinstance(handle, str) else None


def if_none_exist(system: str, value: str, search_param: str = "identifier") -> str:
    """The conditional-create search: ``identifier=system|value`` for an idempotency
    identifier, or ``target=value`` for a Provenance of one version of a resource
    (percent-encoded where needed; :meth:`Outbox.enqueue` refuses the characters a search
    would need escaped)."""
    if search_param == "target":
        return urlencode([("target", value)], safe=":/|")
    return urlencode([("identifier", f"{system}|{value}")], safe=":/|")


@dataclass(frozen=True)
class OutboxEntry:
    """A detached view of one item for the UI; it never holds the payload."""

    id: str
    kind: str
    resource_type: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error_code: str | None
    created_at: datetime
    delivered_at: datetime | None
    remote_id: str | None
    created_by: str
    patient_pseudonym: str | None

    @classmethod
    def of(cls, row: OutboxItem, remote_id: str | None = None) -> OutboxEntry:
        """Copy the displayable columns of ``row``; ``remote_id`` opened by the caller."""
        return cls(
            id=row.id,
            kind=row.kind,
            resource_type=row.resource_type,
            status=OutboxStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error_code=row.last_error_code,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            remote_id=remote_id if remote_id is not None else row.remote_id,
            created_by=row.created_by,
            patient_pseudonym=row.patient_pseudonym,
        )


def _check_target(resource: Resource, value: str) -> None:
    if not value or _TOKEN_SPECIALS & set(value):
        raise MissingIdempotencyKey(
            "A target reference is needed and must not contain '|', ',', '$' or '\\'."
        )
    targets = getattr(resource, "target", None) or []
    if not any(str(getattr(target, "reference", None) or "") == value for target in targets):
        raise MissingIdempotencyKey(
            f"The {resource.get_resource_type()} does not target {value}; conditional create "
            "could not make its delivery idempotent."
        )


def _check_identifier(resource: Resource, system: str, value: str) -> None:
    if not system or not value:
        raise MissingIdempotencyKey("An outbox write needs an identifier system and value.")
    if _TOKEN_SPECIALS & set(system + value):
        raise MissingIdempotencyKey(
            "An idempotency identifier must not contain '|', ',', '$' or '\\'."
        )
    carried = getattr(resource, "identifier", None)
    identifiers = carried if isinstance(carried, list) else [carried] if carried else []
    if not any(
        str(getattr(identifier, "system", None) or "") == system
        and str(getattr(identifier, "value", None) or "") == value
        for identifier in identifiers
    ):
        raise MissingIdempotencyKey(
            f"The {resource.get_resource_type()} does not carry the identifier "
            f"{system}|{value}; conditional create could not make its delivery idempotent."
        )


class Outbox:
    """Queues writes in the caller's transaction and shows their state.

    :param db: the database, for listing and retrying (enqueueing uses the caller's session).
    :param cipher: seals the resource JSON, the identifiers and the launch handle at rest.
    :param index_key: keys the idempotency hash; every process sharing the database must use
        the same key (the app derives it from ``PLUGIN_TOKEN_KEY``).  Without one a random key
        is used, and duplicates are only caught among items this instance queued.
    :param clock: seconds since the epoch, :func:`time.time` unless a test injects another.
    """

    def __init__(
        self,
        db: Database,
        cipher: PayloadCipher,
        *,
        index_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._cipher = cipher
        secret = index_key if index_key is not None else os.urandom(32)
        self._index_key = hmac.new(secret, b"quietline-outbox-index", hashlib.sha256).digest()
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def enqueue(
        self,
        session: Session,
        *,
        tenant: str,
        resource: Resource,
        identifier_value: str,
        created_by: str,
        identifier_system: str = "",
        patient_pseudonym: str | None = None,
        kind: str = "create",
        search_param: str = "identifier",
        launch_handle: str | None = None,
    ) -> str:
        """Add a conditional create of ``resource`` to ``session``; the caller commits.

        :param tenant: the tenant id whose EHR receives the write.
        :param resource: a ``fhir.resources.R4B`` resource carrying the identifier (or, with
            ``search_param="target"``, targeting ``identifier_value``).
        :param identifier_system: the idempotency identifier's system (no ``|``); unused for
            ``target``.
        :param identifier_value: the identifier's value (random, so it reveals nothing), or for
            ``target`` the versioned reference the Provenance is about
            (``Appointment/1/_history/2``).
        :param created_by: the staff member's fhirUser reference.
        :param patient_pseudonym: the keyed pseudonym the UI lists the item under.
        :param search_param: ``identifier`` (``If-None-Exist: identifier=system|value``) or
            ``target`` (``If-None-Exist: target=value``).
        :param launch_handle: the launch whose token may deliver it; by default the launch of
            the current request (``flask.g.launch``), if any.
        :returns: the new item's id.
        :raises MissingIdempotencyKey: when the resource lacks that identifier or target.
        :raises ValueError: for a kind other than ``create`` or an unknown search parameter.
        """
        if kind != "create":
            raise ValueError(f"Unsupported outbox kind {kind!r}; only 'create' is delivered.")
        if search_param not in SEARCH_PARAMS:
            raise ValueError(f"Unsupported conditional-create search {search_param!r}.")
        if search_param == "target":
            _check_target(resource, identifier_value)
            identifier_system = ""
        else:
            _check_identifier(resource, identifier_system, identifier_value)
        now = self._now()
        item = OutboxItem(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            kind=kind,
            resource_type=resource.get_resource_type(),
            identifier_system=identifier_system,
            identifier_value=identifier_value,
            identifier_hash=self._index(identifier_system, identifier_value),
            search_param=search_param,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            created_by=created_by,
            patient_pseudonym=patient_pseudonym,
        )
        data = resource.model_dump_json().encode()
        item.sealed_payload = self._cipher.seal(data, aad=payload_aad(item))
        item.identifier_sealed = seal_for_row(self._cipher, item.id, "identifier", identifier_value)
        handle = launch_handle or _current_launch()
        if handle:
            item.launch_sealed = seal_for_row(self._cipher, item.id, "launch", handle)
        session.add(item)
        return item.id

    def _index(self, system: str, value: str) -> str:
        """The keyed hash the unique constraint holds instead of the identifier."""
        message = f"{system}\x1f{value}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def _entry(self, row: OutboxItem) -> OutboxEntry:
        try:
            remote_id = remote_id_of(self._cipher, row)
        except SealError:  # an altered row still lists; its EHR id is just not shown
            remote_id = None
        return OutboxEntry.of(row, remote_id)

    def list_for(
        self,
        tenant: str,
        patient_pseudonym: str | None = None,
        statuses: Iterable[OutboxStatus | str] = OPEN_STATUSES,
        *,
        limit: int = 200,
    ) -> list[OutboxEntry]:
        """The tenant's items in the given statuses, newest first.

        :param patient_pseudonym: only this patient's items when given.
        :param statuses: which statuses to show (default: everything not delivered).
        """
        wanted = [OutboxStatus(status).value for status in statuses]
        query = select(OutboxItem).where(
            OutboxItem.tenant_id == tenant, OutboxItem.status.in_(wanted)
        )
        if patient_pseudonym is not None:
            query = query.where(OutboxItem.patient_pseudonym == patient_pseudonym)
        query = query.order_by(OutboxItem.created_at.desc(), OutboxItem.id).limit(limit)
        with self._db.session() as session:
            return [self._entry(row) for row in session.scalars(query)]

    def needing_attention(
        self, tenant: str, *, created_by: str, limit: int = 50
    ) -> list[OutboxEntry]:
        """The items ``created_by`` queued that wait for a person, newest first."""
        query = (
            select(OutboxItem)
            .where(
                OutboxItem.tenant_id == tenant,
                OutboxItem.created_by == created_by,
                OutboxItem.status == OutboxStatus.NEEDS_ATTENTION.value,
            )
            .order_by(OutboxItem.created_at.desc(), OutboxItem.id)
            .limit(limit)
        )
        with self._db.session() as session:
            return [self._entry(row) for row in session.scalars(query)]

    def get(self, tenant: str, item_id: str) -> OutboxEntry:
        """One item of the tenant.

        :raises OutboxItemNotFound: when there is none with that id for this tenant.
        """
        with self._db.session() as session:
            row = session.get(OutboxItem, item_id)
            if row is None or row.tenant_id != tenant:
                raise OutboxItemNotFound
            return self._entry(row)

    def retry(self, item_id: str, *, tenant: str, created_by: str | None = None) -> None:
        """Put a failed item, or one needing attention, back in the queue, due now, with its
        attempts reset.

        :param created_by: only an item this staff member queued, when given.
        :raises OutboxItemNotFound: when the tenant (or that staff member) has no such item.
        :raises NotRetryable: when the item is neither failed nor needing attention.
        """
        mine = [] if created_by is None else [OutboxItem.created_by == created_by]
        with self._db.session() as session:
            changed = session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id == item_id,
                    OutboxItem.tenant_id == tenant,
                    OutboxItem.status.in_([status.value for status in RETRYABLE_STATUSES]),
                    *mine,
                )
                .values(
                    status=OutboxStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=self._now(),
                    lease_until=None,
                    claim_token=None,
                    last_error_code=None,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(changed, "rowcount", 0) == 1:
                return
        entry = self.get(tenant, item_id)  # raises OutboxItemNotFound when it does not exist
        if created_by is not None and entry.created_by != created_by:
            raise OutboxItemNotFound
        raise NotRetryable
