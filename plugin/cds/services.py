# SPDX-License-Identifier: Apache-2.0
"""The CDS Hooks service: discovery, the ``appointment-book`` decision and feedback.

Per call the database sees one transaction: the ``jti`` insert, one indexed lookup of the
client's enrollment and the audit entry.  Keys fetched from ``jku`` and tenants' policies are
cached in memory, so the budget (p99 <= 20 ms at 32 concurrent calls) is spent on checking the
JWT and the body, not on I/O.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..codeword.interfaces import Action
from ..codeword.interfaces import VerificationPolicy
from ..codeword.protected import SqlProtectedClients
from ..crypto.pseudonyms import Pseudonymizer
from ..store import Database
from ..tenants.interfaces import TenantRepository
from .body import load_json
from .cards import CardIds
from .cards import verification_card
from .errors import InvalidRequest
from .errors import PrefetchUnavailable
from .hook import HOOK
from .hook import AppointmentBook
from .hook import parse_appointment_book
from .hook import parse_feedback
from .jwt import CdsCaller
from .jwt import EhrJwtVerifier
from .prefetch import PatientReader
from .prefetch import patient_ids
from .replay import SeenJwts

__all__ = ["SERVICE_ID", "CachedPolicies", "CdsService", "CdsUrls"]

SERVICE_ID = "quietline-appointment-book"
ACTIONS_ON_BOOKING = (Action.BOOK, Action.RESCHEDULE, Action.CANCEL)
"""Protocol actions that make a booking or a change of one need verification, in the order the
card's link prefers them (``appointment-book`` fires when a booking is made)."""
DISCOVERY = {
    "services": [
        {
            "hook": HOOK,
            "id": SERVICE_ID,
            "title": "Quietline caller verification",
            "description": (
                "Shows a card when the client's practice requires the caller to be verified "
                "before an appointment is booked or changed."
            ),
            "prefetch": {"patient": "Patient/{{context.patientId}}"},
        }
    ]
}


@dataclass(frozen=True)
class CdsUrls:
    """The endpoint URLs a JWT's ``aud`` must equal, built from the configured public URL
    (never from the request's ``Host`` header)."""

    public_url: str

    @property
    def discovery(self) -> str:
        return self.public_url.rstrip("/") + "/cds-services"

    @property
    def service(self) -> str:
        return f"{self.discovery}/{SERVICE_ID}"

    @property
    def feedback(self) -> str:
        return f"{self.service}/feedback"


class CachedPolicies:
    """Tenants' policies kept for ``ttl`` seconds (an admin's change shows within that)."""

    def __init__(
        self,
        load: Callable[[str], VerificationPolicy],
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, VerificationPolicy]] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str) -> VerificationPolicy:
        now = self._clock()
        entry = self._entries.get(tenant)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        protocol = self._load(tenant)
        with self._lock:
            self._entries[tenant] = (now, protocol)
        return protocol


class CdsService:
    """Answers the three CDS Hooks endpoints; views only pass headers and bodies through."""

    def __init__(
        self,
        *,
        db: Database,
        urls: CdsUrls,
        launch_url: str,
        tenants: TenantRepository,
        verifier: EhrJwtVerifier,
        seen: SeenJwts,
        reader: PatientReader,
        protected: SqlProtectedClients,
        policies: CachedPolicies,
        pseudonyms: Pseudonymizer,
        audit: AuditSink,
        card_ids: CardIds,
    ) -> None:
        self._db = db
        self.urls = urls
        self._launch_url = launch_url
        self._tenants = tenants
        self._verifier = verifier
        self._seen = seen
        self._reader = reader
        self._protected = protected
        self._policies = policies
        self._pseudonyms = pseudonyms
        self._audit = audit
        self._card_ids = card_ids
        # SQLite has one writer at a time; threads of this process queue here instead of in
        # SQLite's busy handler, whose growing sleeps (up to 100 ms each) made the tail.
        self._writer: contextlib.AbstractContextManager[object] = (
            threading.Lock() if db.dialect == "sqlite" else contextlib.nullcontext()
        )

    def discovery(self, authorization: str | None) -> dict[str, Any]:
        """The same document for every caller; a JWT, when sent, must pass every check."""
        if authorization is not None:
            caller = self._verifier.verify(authorization, self.urls.discovery)
            with self._writer, self._db.session() as session:
                self._seen.remember(session, caller)
        return DISCOVERY

    def appointment_book(self, authorization: str | None, body: bytes) -> dict[str, Any]:
        """The cards for one ``appointment-book`` call.

        Only staff (:attr:`AppointmentBook.staff`) can be shown the card.  For anyone else the
        protected-client lookup is not made at all, so what they get (status, body, the FHIR
        read when there is no prefetch) is what an unprotected client gets, whoever the
        patient is.

        :raises InvalidToken: (401) for a refused JWT.
        :raises InvalidRequest: (400) for a malformed body.
        :raises PrefetchUnavailable: (412) when the patient is neither prefetched nor readable.
        """
        caller = self._verifier.verify(authorization, self.urls.service)
        call = parse_appointment_book(load_json(body))
        patient, consumed = call.patient, False
        if not call.prefetched:
            if call.fhir is None:
                raise PrefetchUnavailable
            # The token is spent before Quietline makes an outbound request on its behalf.
            with self._writer, self._db.session() as session:
                self._seen.remember(session, caller)
            consumed = True
            fhir_base = self._tenants.by_id(caller.tenant).iss
            patient = self._reader.read(call.fhir, fhir_base, call.patient_id)
        ids: tuple[str, ...] = ()
        if patient is not None:
            ids = patient_ids(patient, call.patient_id, self._tenants.by_id(caller.tenant).iss)
        # Everything that may open its own connection happens before the transaction: a
        # second connection taken while holding SQLite's write lock can wait on a pool that
        # the lock's other waiters have drained.
        action = self._action(caller.tenant)
        subject = self._pseudonyms.pseudonym(caller.tenant, f"Patient/{call.patient_id}")
        cards = []
        with self._writer, self._db.session() as session:
            if not consumed:
                self._seen.remember(session, caller)
            if (
                call.staff is not None
                and ids
                and action is not None
                and self._protected.any_protected(caller.tenant, ids, session=session)
            ):
                appointment = call.appointment_ids[0] if call.appointment_ids else None
                card_id = self._card_ids.issue(caller.tenant)
                cards.append(
                    verification_card(card_id, self._launch_url, appointment, action.value)
                )
            self._audit.record(
                AuditEvent(
                    caller.tenant,
                    _actor(call, caller),
                    AuditAction.CDS_CALL,
                    subject=subject,
                    detail={"cards": len(cards)},
                ),
                session=session,
            )
        return {"cards": cards}

    def _action(self, tenant: str) -> Action | None:
        required = self._policies.get(tenant).actions
        return next((action for action in ACTIONS_ON_BOOKING if action in required), None)

    def feedback(self, authorization: str | None, body: bytes) -> None:
        """Record what the user did with our cards.

        :raises InvalidRequest: (400) for a malformed body or a card Quietline did not issue
            to this EHR; nothing is recorded then.
        """
        caller = self._verifier.verify(authorization, self.urls.feedback)
        items = parse_feedback(load_json(body))
        for index, item in enumerate(items):
            if not self._card_ids.is_ours(caller.tenant, item.card):
                raise InvalidRequest(f"feedback.{index}.card is not a card Quietline issued.")
        with self._writer, self._db.session() as session:
            self._seen.remember(session, caller)
            for item in items:
                self._audit.record(
                    AuditEvent(
                        caller.tenant,
                        f"cds:{caller.iss}",
                        AuditAction.CDS_FEEDBACK,
                        detail={"outcome": item.outcome},
                    ),
                    session=session,
                )


def _actor(call: AppointmentBook, caller: CdsCaller) -> str:
    """Staff by their FHIR reference; anyone else (a patient booking online) as the EHR."""
    return call.staff or f"cds:{caller.iss}"
