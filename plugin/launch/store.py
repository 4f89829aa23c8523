# SPDX-License-Identifier: Apache-2.0
"""SQL implementations of the launch state store and the live-launch store."""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Delete
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from smart_launch.context import LaunchContext
from smart_launch.launch import PendingAuthorization

from ..crypto import Sealer
from ..crypto import lookup_hash
from ..errors import SessionExpired
from ..store import Database
from .errors import SignInBusy
from .errors import TooManySignIns
from .models import LaunchRecord
from .models import PendingState

__all__ = ["LiveLaunch", "SqlLaunchStateStore", "SqlLaunchStore", "StoredTokens"]


_LOCK_STRIPES = 64


class SqlLaunchStateStore:
    """:class:`smart_launch.launch.LaunchStateStore` in SQL.

    ``consume`` is one ``DELETE ... WHERE state_hash = ? AND binding_hash = ? RETURNING``: only
    the browser that started the sign-in can use its state, and an answer replayed from another
    browser leaves the state usable for its owner.  ``save`` refuses, writing nothing, beyond
    ``per_binding`` pending states for one browser (:class:`TooManySignIns`, 429) or ``total``
    for everyone (:class:`SignInBusy`, 503); replicas share these caps.  Expired rows are purged
    at most every ``purge_interval`` seconds per process, and at once when the total cap is hit.
    """

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        *,
        per_binding: int = 10,
        total: int = 10_000,
        purge_interval: float = 60.0,
    ) -> None:
        self._db = db
        self._sealer = sealer
        self.per_binding = per_binding
        self.total = total
        self._purge_interval = purge_interval
        self._next_purge = 0.0
        self._purge_lock = threading.Lock()

    def save(self, state: str, pending: PendingAuthorization) -> None:
        """Store ``pending`` under ``state``.

        :raises TooManySignIns: this browser already has ``per_binding`` sign-ins pending.
        :raises SignInBusy: ``total`` sign-ins are pending.
        """
        key = lookup_hash(state)
        binding_hash = lookup_hash(pending.binding)
        payload = json.dumps(
            {
                "iss": pending.iss,
                "code_verifier": pending.code_verifier,
                "requested_scope": pending.requested_scope,
                "launch_type": pending.launch_type,
                "binding": pending.binding,
                "expires_at": pending.expires_at,
                "return_to": pending.return_to,
            }
        ).encode()
        now = datetime.now(UTC)
        self._purge_if_due(now)
        with self._db.session() as session:
            mine = session.scalar(
                select(func.count())
                .select_from(PendingState)
                .where(PendingState.binding_hash == binding_hash, PendingState.expires_at >= now)
            )
            if int(mine or 0) >= self.per_binding:
                raise TooManySignIns
            if self._count(session) >= self.total:
                session.execute(delete(PendingState).where(PendingState.expires_at < now))
                if self._count(session) >= self.total:
                    raise SignInBusy
            session.add(
                PendingState(
                    state_hash=key,
                    tenant_id=pending.tenant,
                    binding_hash=binding_hash,
                    sealed=self._sealer.seal(payload, aad=key.encode()),
                    expires_at=datetime.fromtimestamp(pending.expires_at, UTC),
                )
            )

    @staticmethod
    def _count(session: Session) -> int:
        return int(session.scalar(select(func.count()).select_from(PendingState)) or 0)

    def _purge_if_due(self, now: datetime) -> None:
        with self._purge_lock:
            due = time.monotonic() >= self._next_purge
            if due:
                self._next_purge = time.monotonic() + self._purge_interval
        if due:
            self.purge_expired(now)

    def consume(self, state: str, binding: str) -> PendingAuthorization | None:
        """Remove and return the state if ``binding`` started it; otherwise change nothing."""
        key = lookup_hash(state)
        with self._db.session() as session:
            # DELETE ... RETURNING is atomic on SQLite >= 3.35 and PostgreSQL: of two
            # concurrent redirects with the same state, exactly one gets the row, and a
            # redirect from another browser matches no row at all.
            row = session.execute(
                delete(PendingState)
                .where(
                    PendingState.state_hash == key,
                    PendingState.binding_hash == lookup_hash(binding),
                )
                .returning(PendingState.tenant_id, PendingState.sealed)
            ).first()
        if row is None:
            return None
        data = json.loads(self._sealer.open(row.sealed, aad=key.encode()))
        return PendingAuthorization(
            tenant=row.tenant_id,
            iss=data["iss"],
            code_verifier=data["code_verifier"],
            requested_scope=data["requested_scope"],
            launch_type=data["launch_type"],
            binding=data["binding"],
            expires_at=float(data["expires_at"]),
            return_to=data.get("return_to"),
        )

    def is_pending(self, state: str) -> bool:
        """Whether ``state`` is stored and unexpired (for a clear error; changes nothing)."""
        with self._db.session() as session:
            row = session.get(PendingState, lookup_hash(state))
            return row is not None and row.expires_at >= datetime.now(UTC)

    def purge_expired(self, now: datetime | None = None) -> int:
        cutoff = now or datetime.now(UTC)
        with self._db.session() as session:
            result = session.execute(delete(PendingState).where(PendingState.expires_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class StoredTokens:
    """Tokens of one launch, as sealed in the database."""

    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class LiveLaunch:
    """An opened launch: context, roles and tokens.  Never render or log ``tokens``."""

    handle: str
    context: LaunchContext
    roles: tuple[str, ...]
    tokens: StoredTokens = field(repr=False)
    missing_scopes: tuple[str, ...] = ()


class SqlLaunchStore:
    """Live launches in SQL, sealed; bound to the browser session that created them."""

    def __init__(
        self, db: Database, sealer: Sealer, *, idle_seconds: int, absolute_seconds: int
    ) -> None:
        self._db = db
        self._sealer = sealer
        self._idle = timedelta(seconds=idle_seconds)
        self._absolute = timedelta(seconds=absolute_seconds)
        self._refresh_locks = tuple(threading.Lock() for _ in range(_LOCK_STRIPES))

    def _seal(self, handle: str, launch: LiveLaunch) -> bytes:
        payload: dict[str, Any] = {
            "context": launch.context.to_dict(),
            "roles": list(launch.roles),
            "missing_scopes": list(launch.missing_scopes),
            "tokens": {
                "access_token": launch.tokens.access_token,
                "expires_at": launch.tokens.expires_at,
                "refresh_token": launch.tokens.refresh_token,
            },
        }
        return self._sealer.seal(json.dumps(payload).encode(), aad=handle.encode())

    def _open(self, handle: str, blob: bytes) -> LiveLaunch:
        data = json.loads(self._sealer.open(blob, aad=handle.encode()))
        tokens = data["tokens"]
        return LiveLaunch(
            handle=handle,
            context=LaunchContext.from_dict(data["context"]),
            roles=tuple(data.get("roles", ())),
            missing_scopes=tuple(data.get("missing_scopes", ())),
            tokens=StoredTokens(
                access_token=tokens["access_token"],
                expires_at=float(tokens["expires_at"]),
                refresh_token=tokens.get("refresh_token"),
            ),
        )

    def create(
        self,
        *,
        session_hash: str,
        context: LaunchContext,
        roles: tuple[str, ...],
        tokens: StoredTokens,
        missing_scopes: tuple[str, ...],
    ) -> str:
        handle = secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        launch = LiveLaunch(handle, context, roles, tokens, missing_scopes)
        with self._db.session() as session:
            session.execute(self._expired(now))
            session.add(
                LaunchRecord(
                    handle=handle,
                    session_hash=session_hash,
                    tenant_id=context.tenant,
                    sealed=self._seal(handle, launch),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self._absolute,
                )
            )
        return handle

    def open(self, handle: str, session_hash: str | None) -> LiveLaunch:
        """Return the launch if it is live and belongs to this browser session.

        :raises SessionExpired: unknown handle, another browser, idle or absolute timeout.
        """
        now = datetime.now(UTC)
        blob: bytes | None = None
        with self._db.session() as session:
            row = session.get(LaunchRecord, handle)
            if row is None or session_hash is None:
                raise SessionExpired
            if not hmac.compare_digest(row.session_hash.encode(), session_hash.encode()):
                raise SessionExpired
            if row.expires_at <= now or row.last_seen_at + self._idle <= now:
                session.delete(row)  # committed on leaving the block; raised below
            else:
                if now - row.last_seen_at > timedelta(seconds=30):
                    row.last_seen_at = now
                blob = row.sealed
        if blob is None:
            raise SessionExpired
        return self._open(handle, blob)

    def refresh_tokens(
        self,
        handle: str,
        *,
        needed: Callable[[StoredTokens], bool],
        refresh: Callable[[StoredTokens], StoredTokens],
    ) -> StoredTokens:
        """Refresh once, even with concurrent requests in several processes.

        The row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers,
        and a process-local lock covers threads) while ``refresh`` talks to the EHR, so the
        old refresh token is used at most once and the new one replaces it.
        """
        with self._lock_for(handle), self._db.session() as session:
            row = session.get(LaunchRecord, handle, with_for_update=True)
            if row is None:
                raise SessionExpired
            current = self._open(handle, row.sealed)
            if not needed(current.tokens):
                return current.tokens
            tokens = refresh(current.tokens)
            updated = LiveLaunch(
                handle, current.context, current.roles, tokens, current.missing_scopes
            )
            row.sealed = self._seal(handle, updated)
            return tokens

    def _lock_for(self, handle: str) -> threading.Lock:
        """A fixed set of striped locks: bounded memory, never cleared while held."""
        return self._refresh_locks[int(lookup_hash(handle)[:8], 16) % _LOCK_STRIPES]

    def end(self, handle: str) -> None:
        with self._db.session() as session:
            session.execute(delete(LaunchRecord).where(LaunchRecord.handle == handle))

    def _expired(self, now: datetime) -> Delete:
        return delete(LaunchRecord).where(
            (LaunchRecord.expires_at < now) | (LaunchRecord.last_seen_at < now - self._idle)
        )

    def purge_expired(self) -> int:
        """Delete ended launches (also done on every new launch)."""
        with self._db.session() as session:
            result = session.execute(self._expired(datetime.now(UTC)))
            return int(getattr(result, "rowcount", 0) or 0)

    def open_for_delivery(self, handle: str) -> LiveLaunch | None:
        """The launch ``handle`` while it is live, without a browser binding, for the outbox
        worker delivering a write that launch queued; ``None`` once it ended or timed out.

        Reading does not count as activity: ``last_seen_at`` is left alone, so a worker never
        keeps an idle session alive.
        """
        now = datetime.now(UTC)
        with self._db.session() as session:
            row = session.get(LaunchRecord, handle)
            if row is None:
                return None
            if row.expires_at <= now or row.last_seen_at + self._idle <= now:
                return None
            blob = row.sealed
        return self._open(handle, blob)
