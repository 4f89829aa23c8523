# SPDX-License-Identifier: Apache-2.0
"""Grants: single-use, short-lived permissions for one action on one client's appointment.

A grant's token is 32 random bytes (``secrets.token_urlsafe``) held by the staff member's page;
the database keeps only its SHA-256.  Claiming is one compare-and-set ``UPDATE`` (state
``issued`` -> ``claimed`` where the token, tenant, client, staff member, action and appointment
match and the grant has not expired), so two requests racing with the same token cannot both
win, and a grant given for one client's word can never be used in another client's launch.
After the EHR write the grant becomes ``used``; when the write fails it is released to
``issued`` and can be claimed again until it expires.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from ..errors import PluginError
from ..store import Database
from .interfaces import Action
from .interfaces import Grant
from .models import CodewordGrant

__all__ = [
    "GrantBook",
    "GrantExpired",
    "GrantInvalid",
    "GrantOtherClient",
    "GrantRefused",
    "GrantUsed",
    "token_hash",
]


class GrantRefused(PluginError):
    """A grant cannot be used for this change; the caller has to be verified again."""

    error = "grant_refused"
    description = "This verification cannot be used. Verify the caller again."
    status_code = 409


class GrantExpired(GrantRefused):
    error = "grant_expired"
    description = "This verification has expired. Verify the caller again."


class GrantUsed(GrantRefused):
    error = "grant_used"
    description = "This verification was already used. Verify the caller again for another change."


class GrantInvalid(GrantRefused):
    error = "grant_invalid"
    description = "This verification does not cover this change. Verify the caller again."


class GrantOtherClient(GrantInvalid):
    """The grant was given for another client's word (an alert-worthy mismatch)."""

    error = "grant_other_client"
    description = "This verification was for another client. Nothing was changed."


def token_hash(token: str) -> str:
    """SHA-256 hex of a grant token (what the database stores)."""
    return hashlib.sha256(token.encode()).hexdigest()


class GrantBook:
    """Issues, claims and closes grants.

    :param db: the database holding ``codeword_grants``.
    :param appointment_key: ``(tenant, appointment id) -> keyed hash`` of the appointment.
    :param now: the current time (timezone-aware).
    """

    def __init__(
        self,
        db: Database,
        appointment_key: Callable[[str, str], str],
        now: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._key = appointment_key
        self._now = now

    def issue(
        self,
        session: Session,
        *,
        tenant: str,
        pseudonym: str,
        action: Action,
        appointment_id: str | None,
        staff: str,
        minutes: int,
    ) -> Grant:
        """Add a new grant to ``session`` (the caller commits) and return it with its token."""
        now = self._now()
        token = secrets.token_urlsafe(32)
        row = CodewordGrant(
            id=str(uuid.uuid4()),
            token_hash=token_hash(token),
            tenant_id=tenant,
            patient_pseudonym=pseudonym,
            action=action.value,
            appointment_key=self._key(tenant, appointment_id) if appointment_id else None,
            issued_to=staff,
            issued_at=now,
            expires_at=now + timedelta(minutes=minutes),
            state="issued",
        )
        session.add(row)
        return Grant(row.id, token, action, appointment_id, row.expires_at)

    def claim(
        self,
        *,
        tenant: str,
        pseudonym: str,
        token: str,
        staff: str,
        action: Action,
        appointment_id: str | None,
        session: Session | None = None,
    ) -> Grant:
        """Take the grant behind ``token`` for one write (``issued`` -> ``claimed``).

        :param pseudonym: the pseudonym of the client in the launch making the write; the
            grant must have been given for this client's word.
        :param session: the caller's transaction (the claim then commits with it); without
            one the claim commits on its own.
        :raises GrantOtherClient: for a grant given for another client's word.
        :raises GrantInvalid: for an unknown token, or a grant of another tenant, staff
            member, action or appointment.
        :raises GrantUsed: when the grant was used or is being used.
        :raises GrantExpired: when the grant has expired.
        """
        action = Action(action)
        if session is None:
            with self._db.session() as own:
                return self.claim(tenant=tenant, pseudonym=pseudonym, token=token, staff=staff,
                                  action=action, appointment_id=appointment_id,
                                  session=own)  # fmt: skip
        hashed = token_hash(token)
        key = self._key(tenant, appointment_id) if appointment_id else None
        now = self._now()
        g = CodewordGrant
        changed = session.execute(
            update(g)
            .where(
                g.token_hash == hashed,
                g.tenant_id == tenant,
                g.patient_pseudonym == pseudonym,
                g.issued_to == staff,
                g.action == action.value,
                g.appointment_key.is_(None) if key is None else g.appointment_key == key,
                g.state == "issued",
                g.expires_at > now,
            )
            .values(state="claimed")
            .execution_options(synchronize_session=False)
        )
        row = session.scalars(select(g).where(g.token_hash == hashed)).one_or_none()
        if getattr(changed, "rowcount", 0) == 1 and row is not None:
            return Grant(row.id, token, action, appointment_id, row.expires_at)
        if row is None or row.tenant_id != tenant:
            raise GrantInvalid
        if row.patient_pseudonym != pseudonym:
            raise GrantOtherClient
        if row.issued_to != staff or row.action != action.value or row.appointment_key != key:
            raise GrantInvalid
        if row.state != "issued":
            raise GrantUsed
        raise GrantExpired

    def complete(
        self,
        *,
        tenant: str,
        grant_id: str,
        result_version: str | None,
        session: Session | None = None,
    ) -> None:
        """Mark a claimed grant used, with the appointment version its write produced.

        :param session: the caller's transaction; without one the change commits on its own.
        :raises GrantInvalid: when the tenant holds no claimed grant with that id.
        """
        if session is None:
            with self._db.session() as own:
                self.complete(
                    tenant=tenant, grant_id=grant_id, result_version=result_version, session=own
                )
            return
        changed = session.execute(
            update(CodewordGrant)
            .where(
                CodewordGrant.id == grant_id,
                CodewordGrant.tenant_id == tenant,
                CodewordGrant.state == "claimed",
            )
            .values(state="used", used_at=self._now(), result_version=result_version)
            .execution_options(synchronize_session=False)
        )
        if getattr(changed, "rowcount", 0) != 1:
            raise GrantInvalid

    def spend(
        self, session: Session, *, tenant: str, grant_id: str, result_version: str | None
    ) -> None:
        """Mark a grant used after its write was confirmed later (whether it is still claimed
        or was given back meanwhile); a grant already used keeps its first version."""
        session.execute(
            update(CodewordGrant)
            .where(
                CodewordGrant.id == grant_id,
                CodewordGrant.tenant_id == tenant,
                CodewordGrant.state.in_(("claimed", "issued")),
            )
            .values(state="used", used_at=self._now(), result_version=result_version)
            .execution_options(synchronize_session=False)
        )

    def release(self, *, tenant: str, grant_id: str) -> None:
        """Give a claimed grant back (its write failed); anything else is left as it is."""
        with self._db.session() as session:
            session.execute(
                update(CodewordGrant)
                .where(
                    CodewordGrant.id == grant_id,
                    CodewordGrant.tenant_id == tenant,
                    CodewordGrant.state == "claimed",
                )
                .values(state="issued")
                .execution_options(synchronize_session=False)
            )

    def used(self, tenant: str, appointment_id: str) -> list[CodewordGrant]:
        """The used grants of one appointment, oldest first."""
        key = self._key(tenant, appointment_id)
        g = CodewordGrant
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(g)
                    .where(g.tenant_id == tenant, g.appointment_key == key, g.state == "used")
                    .order_by(g.used_at, g.id)
                )
            )

    def open_book(self, tenant: str, pseudonym: str) -> list[CodewordGrant]:
        """The client's ``book`` grants still in state ``issued`` (expired or not), oldest first."""
        g = CodewordGrant
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(g)
                    .where(
                        g.tenant_id == tenant,
                        g.patient_pseudonym == pseudonym,
                        g.action == Action.BOOK.value,
                        g.state == "issued",
                    )
                    .order_by(g.issued_at, g.id)
                )
            )
