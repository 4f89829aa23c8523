# SPDX-License-Identifier: Apache-2.0
"""The home page's "For your attention" list: verification alerts for the signed-in user, and
EHR deliveries they queued that are waiting for a person.

Only the verification kinds are handed over here (other notices, such as a break-glass read,
belong to the pages that explain them).  A notice names its client by pseudonym only, so the
page can say "this client" only when that pseudonym is the client in context.  A delivery that
needs attention stays listed, with a retry, until it is retried.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from ..codeword.alerts import ADMIN_RECIPIENT
from ..codeword.alerts import NOTICE_TEXT
from ..outbox.services import Outbox
from ..store import Database
from ..vault.models import Notice

__all__ = [
    "DELIVERY_KIND",
    "DELIVERY_TEXT",
    "AttentionItem",
    "delivery_attention",
    "take_attention",
]

DELIVERY_KIND = "delivery-needs-attention"
DELIVERY_TEXT = (
    "Something you saved could not be sent to the EHR: Quietline could not sign in to the "
    "EHR to send it. Ask your practice administrator to check Quietline's EHR registration, "
    "then try again."
)


@dataclass(frozen=True)
class AttentionItem:
    kind: str
    text: str
    created_at: datetime
    about_this_client: bool
    for_admins: bool
    retry_id: str | None = None
    """An outbox item the user can put back in the queue from the list."""


def delivery_attention(
    outbox: Outbox, tenant: str, user: str | None, *, subject: str | None
) -> list[AttentionItem]:
    """The deliveries ``user`` queued that need attention, newest first (not marked read: they
    stay until retried).

    :param subject: the pseudonym of the client in context, if any.
    """
    if not user:
        return []
    return [
        AttentionItem(
            kind=DELIVERY_KIND,
            text=DELIVERY_TEXT,
            created_at=entry.created_at,
            about_this_client=subject is not None and entry.patient_pseudonym == subject,
            for_admins=False,
            retry_id=entry.id,
        )
        for entry in outbox.needing_attention(tenant, created_by=user)
    ]


def take_attention(
    db: Database,
    tenant: str,
    recipients: Iterable[str],
    *,
    subject: str | None,
) -> list[AttentionItem]:
    """Unread verification notices for ``recipients``, newest first, marked read as they are
    handed over.

    :param recipients: the user's ``Practitioner/..`` reference and, for admins, ``role:admin``.
    :param subject: the pseudonym of the client in context, if any.
    """
    wanted = [recipient for recipient in recipients if recipient]
    if not wanted:
        return []
    with db.session() as session:
        notices = list(
            session.scalars(
                select(Notice)
                .where(
                    Notice.tenant_id == tenant,
                    Notice.recipient.in_(wanted),
                    Notice.kind.in_(list(NOTICE_TEXT)),
                    Notice.read_at.is_(None),
                )
                .order_by(Notice.created_at.desc())
                .limit(50)
            )
        )
        now = datetime.now(UTC)
        items = []
        for notice in notices:
            notice.read_at = now
            items.append(
                AttentionItem(
                    kind=notice.kind,
                    text=NOTICE_TEXT[notice.kind],
                    created_at=notice.created_at,
                    about_this_client=subject is not None and notice.subject == subject,
                    for_admins=notice.recipient == ADMIN_RECIPIENT,
                )
            )
        return items
