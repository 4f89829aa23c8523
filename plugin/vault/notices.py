# SPDX-License-Identifier: Apache-2.0
"""Notices inside Quietline: a break-glass read told to the record's author, a contact review
asked of the practice admin.  A notice names a patient only by pseudonym and gives no reason."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Iterable
from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from ..store import Database
from .models import Notice

__all__ = ["NoticeBoard"]


class NoticeBoard:
    def __init__(self, db: Database, pseudonym: Callable[[str, str], str]) -> None:
        self._db = db
        self.pseudonym = pseudonym

    def notify_role(
        self, *, tenant: str, role: str, kind: str, actor: str, patient_id: str
    ) -> None:
        """Leave a notice for everyone with ``role`` about one client (by pseudonym only)."""
        with self._db.session() as session:
            session.add(
                Notice(
                    id=str(uuid.uuid4()),
                    tenant_id=tenant,
                    recipient=f"role:{role}",
                    kind=kind,
                    subject=self.pseudonym(tenant, patient_id),
                    actor=actor,
                    created_at=datetime.now(UTC),
                )
            )

    def role_notices(self, *, tenant: str, role: str, patient_id: str) -> list[Notice]:
        """Open notices for ``role`` about this client."""
        subject = self.pseudonym(tenant, patient_id)
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(Notice).where(
                        Notice.tenant_id == tenant,
                        Notice.recipient == f"role:{role}",
                        Notice.subject == subject,
                        Notice.read_at.is_(None),
                    )
                ).all()
            )

    def take_notices(
        self, tenant: str, recipient: str, *, kinds: Iterable[str] | None = None
    ) -> list[Notice]:
        """Unread notices for ``recipient``, marked read as they are handed over.

        :param kinds: only notices of these kinds (the others stay for the page that shows them).
        """
        with self._db.session() as session:
            query = select(Notice).where(
                Notice.tenant_id == tenant,
                Notice.recipient == recipient,
                Notice.read_at.is_(None),
            )
            if kinds is not None:
                query = query.where(Notice.kind.in_(list(kinds)))
            notices = list(session.scalars(query.order_by(Notice.created_at.desc())).all())
            now = datetime.now(UTC)
            for notice in notices:
                notice.read_at = now
            return notices
