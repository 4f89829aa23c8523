# SPDX-License-Identifier: Apache-2.0
"""The ``jti`` replay check, shared by every replica through the database.

An accepted ``(iss, jti)`` pair is inserted into ``cds_seen_jwts`` until the token's ``exp``
(plus the verifier's leeway); the primary key refuses a second insert, on SQLite and PostgreSQL
alike, even when two processes race.  Expired rows are pruned now and then by whichever
request comes along, inside its own transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import InvalidToken
from .jwt import CdsCaller
from .models import SeenJwt

__all__ = ["SeenJwts"]

# Built once: a Core insert on the session's connection skips the ORM's per-call statement
# building, a third of this module's cost on the hot path.
_REMEMBER = insert(SeenJwt)


class SeenJwts:
    """Remembers accepted tokens.

    :param leeway: seconds a token stays acceptable after its ``exp`` (the verifier's leeway).
    :param prune_every: seconds between deletions of expired rows (per process).
    """

    def __init__(
        self,
        *,
        leeway: int = 30,
        prune_every: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._leeway = leeway
        self._prune_every = prune_every
        self._clock = clock
        self._next_prune = 0.0
        self._lock = threading.Lock()

    def remember(self, session: Session, caller: CdsCaller) -> None:
        """Insert ``caller``'s ``jti`` in ``session``'s transaction.

        :raises InvalidToken: when the pair was seen before; the caller's transaction must
            then be rolled back (it is, by :meth:`plugin.store.Database.session`).
        """
        expires = datetime.fromtimestamp(caller.expires_at + self._leeway, UTC)
        try:
            session.connection().execute(
                _REMEMBER, {"iss": caller.iss, "jti": caller.jti, "expires_at": expires}
            )
        except IntegrityError as exc:
            raise InvalidToken(
                "This token was already used: send a fresh jti with every request."
            ) from exc
        self._maybe_prune(session)

    def _maybe_prune(self, session: Session) -> None:
        now = self._clock()
        with self._lock:
            if now < self._next_prune:
                return
            self._next_prune = now + self._prune_every
        session.execute(
            delete(SeenJwt).where(SeenJwt.expires_at < datetime.fromtimestamp(now, UTC))
        )
