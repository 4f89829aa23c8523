# SPDX-License-Identifier: Apache-2.0
"""SQLite persistence of launches, authorization codes, tokens and client-assertion ``jti``\\s.

Single use is enforced by atomic ``UPDATE ... WHERE used = 0`` statements, so two concurrent
exchanges of one code or one refresh token cannot both succeed.  A replayed code or a reused
(already rotated) refresh token revokes its whole token family (RFC 6749 section 4.1.2 and
OAuth 2.0 Security BCP, RFC 9700 section 4.14.2).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import CODE_LIFETIME
from .models import AuthorizationCodeRecord
from .models import LaunchRecord
from .models import Subject
from .models import TokenRecord
from .models import secret_hash

if TYPE_CHECKING:
    from .database import Database

__all__ = ["GrantStore", "NewCode", "NewToken", "RefreshLookup"]


@dataclass(frozen=True)
class NewCode:
    """What the authorization endpoint stores for a fresh code."""

    client_id: str
    redirect_uri: str
    scope: str
    subject: Subject
    nonce: str | None
    code_challenge: str
    code_challenge_method: str


@dataclass(frozen=True)
class NewToken:
    """What the token endpoint stores for a fresh access (and refresh) token."""

    access_token: str
    refresh_token: str | None
    family: str
    client_id: str
    subject: Subject | None
    scope: str
    expires_in: int
    refresh_lifetime: int | None


@dataclass(frozen=True)
class RefreshLookup:
    """The outcome of presenting a refresh token."""

    record: TokenRecord | None
    reused: bool = False


def _subject(row: sqlite3.Row) -> Subject | None:
    user_id = row["user_id"]
    if user_id is None:
        return None
    return Subject(user_id=str(user_id), patient=row["patient"], encounter=row["encounter"])


def _token(row: sqlite3.Row) -> TokenRecord:
    return TokenRecord(
        access_hash=row["access_hash"],
        refresh_hash=row["refresh_hash"],
        family=row["family"],
        client_id=row["client_id"],
        subject=_subject(row),
        scope=row["scope"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        refresh_expires_at=row["refresh_expires_at"],
        refresh_used=bool(row["refresh_used"]),
        revoked=bool(row["revoked"]),
    )


class GrantStore:
    """Launch, code, token and ``jti`` records in the sandbox database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- EHR launches --------------------------------------------------------------------

    def create_launch(
        self,
        *,
        client_id: str,
        user_id: str,
        patient: str,
        encounter: str | None,
        app_context: str | None = None,
    ) -> LaunchRecord:
        """Record a launch with an opaque random id (and the ``appContext`` to hand over)."""
        record = LaunchRecord(
            id=secrets.token_urlsafe(24),
            client_id=client_id,
            user_id=user_id,
            patient=patient,
            encounter=encounter,
            created_at=time.time(),
            app_context=app_context,
        )
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO launches (id, client_id, user_id, patient, encounter, created_at,"
                " app_context) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.client_id,
                    record.user_id,
                    record.patient,
                    record.encounter,
                    record.created_at,
                    record.app_context,
                ),
            )
        return record

    def live_launch(self, launch_id: str) -> LaunchRecord | None:
        """The launch ``launch_id`` if it exists and has not expired."""
        with self._db.connection() as conn:
            row = conn.execute("SELECT * FROM launches WHERE id = ?", (launch_id,)).fetchone()
        if row is None:
            return None
        record = LaunchRecord(
            id=row["id"],
            client_id=row["client_id"],
            user_id=row["user_id"],
            patient=row["patient"],
            encounter=row["encounter"],
            created_at=row["created_at"],
            app_context=row["app_context"],
        )
        return record if record.is_live() else None

    # -- authorization codes -------------------------------------------------------------

    def save_code(self, code: str, new: NewCode) -> None:
        """Store ``code`` (hashed) with everything the token exchange must check."""
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO auth_codes (code_hash, family, client_id, redirect_uri, scope,"
                " user_id, patient, encounter, nonce, code_challenge, code_challenge_method,"
                " created_at, app_context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    secret_hash(code),
                    secrets.token_hex(16),
                    new.client_id,
                    new.redirect_uri,
                    new.scope,
                    new.subject.user_id,
                    new.subject.patient,
                    new.subject.encounter,
                    new.nonce,
                    new.code_challenge,
                    new.code_challenge_method,
                    time.time(),
                    new.subject.app_context,
                ),
            )

    def claim_code(self, code: str, client_id: str) -> AuthorizationCodeRecord | None:
        """Consume ``code`` for ``client_id``; ``None`` if unknown, expired or already used.

        A second use revokes every token issued from the code (RFC 6749 section 4.1.2).
        """
        code_hash = secret_hash(code)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM auth_codes WHERE code_hash = ? AND client_id = ?",
                (code_hash, client_id),
            ).fetchone()
            if row is None:
                return None
            if row["used"]:
                conn.execute("UPDATE tokens SET revoked = 1 WHERE family = ?", (row["family"],))
                return None
            conn.execute("UPDATE auth_codes SET used = 1 WHERE code_hash = ?", (code_hash,))
        if time.time() - row["created_at"] > CODE_LIFETIME:
            return None
        return AuthorizationCodeRecord(
            code_hash=code_hash,
            family=row["family"],
            client_id=row["client_id"],
            redirect_uri=row["redirect_uri"],
            scope=row["scope"],
            subject=Subject(row["user_id"], row["patient"], row["encounter"], row["app_context"]),
            nonce=row["nonce"],
            code_challenge=row["code_challenge"],
            code_challenge_method=row["code_challenge_method"],
            created_at=row["created_at"],
        )

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        """Whether a code was already issued to ``client_id`` with ``nonce``."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM auth_codes WHERE client_id = ? AND nonce = ?", (client_id, nonce)
            ).fetchone()
        return row is not None

    def purge_codes(self, older_than: float) -> int:
        """Forget codes issued before ``older_than`` (long past any reuse window)."""
        with self._db.connection() as conn:
            cursor = conn.execute("DELETE FROM auth_codes WHERE created_at < ?", (older_than,))
        return cursor.rowcount

    # -- tokens --------------------------------------------------------------------------

    def save_token(self, new: NewToken) -> TokenRecord:
        """Store the hashes of a freshly issued token pair."""
        now = time.time()
        subject = new.subject
        refresh_expires = (
            now + new.refresh_lifetime
            if new.refresh_token is not None and new.refresh_lifetime is not None
            else None
        )
        record = TokenRecord(
            access_hash=secret_hash(new.access_token),
            refresh_hash=None if new.refresh_token is None else secret_hash(new.refresh_token),
            family=new.family,
            client_id=new.client_id,
            subject=subject,
            scope=new.scope,
            issued_at=now,
            expires_at=now + new.expires_in,
            refresh_expires_at=refresh_expires,
            refresh_used=False,
            revoked=False,
        )
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO tokens (access_hash, refresh_hash, family, client_id, user_id,"
                " patient, encounter, scope, issued_at, expires_at, refresh_expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.access_hash,
                    record.refresh_hash,
                    record.family,
                    record.client_id,
                    None if subject is None else subject.user_id,
                    None if subject is None else subject.patient,
                    None if subject is None else subject.encounter,
                    record.scope,
                    record.issued_at,
                    record.expires_at,
                    record.refresh_expires_at,
                ),
            )
        return record

    def active_access_token(self, token: str) -> TokenRecord | None:
        """The record of a bearer token that is known, unrevoked and unexpired."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM tokens WHERE access_hash = ?", (secret_hash(token),)
            ).fetchone()
        if row is None:
            return None
        record = _token(row)
        if record.revoked or record.is_expired():
            return None
        return record

    def find_refresh(self, token: str) -> RefreshLookup:
        """Look up a refresh token without consuming it.

        A token that was already rotated is a reuse: its whole family is revoked.
        """
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM tokens WHERE refresh_hash = ?", (secret_hash(token),)
            ).fetchone()
        if row is None:
            return RefreshLookup(None)
        record = _token(row)
        if record.refresh_used:
            self.revoke_family(record.family)
            return RefreshLookup(None, reused=True)
        expires = record.refresh_expires_at
        if record.revoked or (expires is not None and time.time() >= expires):
            return RefreshLookup(None)
        return RefreshLookup(record)

    def claim_refresh(self, record: TokenRecord) -> bool:
        """Mark the refresh token of ``record`` as used; ``False`` if someone else did first."""
        with self._db.connection() as conn:
            cursor = conn.execute(
                "UPDATE tokens SET refresh_used = 1"
                " WHERE access_hash = ? AND refresh_used = 0 AND revoked = 0",
                (record.access_hash,),
            )
        if cursor.rowcount != 1:
            self.revoke_family(record.family)
            return False
        return True

    def revoke_family(self, family: str) -> None:
        """Revoke every access and refresh token descending from one authorization."""
        with self._db.connection() as conn:
            conn.execute("UPDATE tokens SET revoked = 1 WHERE family = ?", (family,))

    # -- client assertion replay protection ----------------------------------------------

    def remember_jti(self, client_id: str, jti: str, expires_at: float) -> bool:
        """Record an assertion ``jti``; ``False`` when it was seen before (a replay)."""
        now = time.time()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM assertion_jti WHERE expires_at < ?", (now - 3600,))
            try:
                conn.execute(
                    "INSERT INTO assertion_jti (client_id, jti, expires_at) VALUES (?, ?, ?)",
                    (client_id, jti, expires_at),
                )
            except sqlite3.IntegrityError:
                return False
        return True
