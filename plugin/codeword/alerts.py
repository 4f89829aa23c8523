# SPDX-License-Identifier: Apache-2.0
"""Alerts about verification: a notice inside Quietline and, for the treating clinician, an EHR
Communication addressed to the practitioner (never to the patient).

The wording is neutral everywhere, because front-desk staff and anyone reading the chart may see
it: it speaks of verification and appointment change requests only.  The Communication carries
one confidentiality label (``R``, restricted) and a random idempotency identifier; it is queued
in the caller's transaction (:meth:`plugin.outbox.services.Outbox.enqueue`) so the alert commits
or rolls back with the attempt it reports.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from types import MappingProxyType

from fhir.resources.R4B.communication import Communication
from sqlalchemy.orm import Session

from ..crypto.pseudonyms import Pseudonymizer
from ..outbox.services import Outbox
from ..vault.models import Notice
from ..vault.notices import NoticeBoard
from .interfaces import AlertRecipient

__all__ = [
    "ADMIN_RECIPIENT",
    "COMMUNICATION_SYSTEM",
    "COMMUNICATION_TEXT",
    "KINDS",
    "NOTICE_TEXT",
    "Alerter",
]

COMMUNICATION_SYSTEM = "urn:quietline:communication"
ADMIN_RECIPIENT = "role:admin"
_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

COMMUNICATION_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "verification-failed": "Verification failed for an appointment change request.",
        "verification-locked": (
            "Appointment changes are paused after repeated failed verification."
        ),
        "change-without-verification": (
            "An appointment was changed without the verification step."
        ),
        "appointment-not-this-client": (
            "An appointment change request was refused: the appointment and the verification "
            "were for different clients."
        ),
        "word-change-failed": (
            "A request to change the verification word did not give the current word."
        ),
    }
)
"""Kind -> the sentence of the EHR Communication."""

NOTICE_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "verification-failed": (
            "A verification for an appointment change request did not succeed."
        ),
        "verification-locked": (
            "Appointment changes for this client are paused after repeated failed "
            "verification. They resume when the pause ends, or earlier when the treating "
            "clinician clears the pause with the client present."
        ),
        "change-without-verification": (
            "An appointment of this client was changed in the EHR without the verification step."
        ),
        "appointment-not-this-client": (
            "An appointment change request for this client was refused: the appointment and the "
            "verification were for different clients. Nothing was changed."
        ),
        "word-change-failed": (
            "A request to change this client's verification word did not give the current word. "
            "Nothing was changed."
        ),
    }
)
"""Kind -> the sentence shown in Quietline."""

KINDS = frozenset(NOTICE_TEXT)


class Alerter:
    """Leaves notices and queues EHR Communications about verification events.

    :param notices: the notice board (its pseudonym function names the client).
    :param outbox: queues the Communication in the caller's transaction.
    :param pseudonyms: keyed pseudonyms for the notice subject and the outbox row.
    :param clock: seconds since the epoch.
    """

    def __init__(
        self,
        notices: NoticeBoard,
        outbox: Outbox,
        pseudonyms: Pseudonymizer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.notices = notices
        self._outbox = outbox
        self._pseudonyms = pseudonyms
        self._clock = clock

    def alert(
        self,
        session: Session,
        *,
        tenant: str,
        patient_id: str,
        kind: str,
        clinician: str | None,
        recipients: frozenset[AlertRecipient],
        actor: str,
    ) -> None:
        """Alert ``recipients`` about ``kind`` for one client, in ``session`` (the caller commits).

        :param patient_id: the bare FHIR id of the client.
        :param kind: one of :data:`KINDS` (``verification-failed``, ``verification-locked``,
            ``change-without-verification``, ``appointment-not-this-client``,
            ``word-change-failed``).
        :param clinician: the treating clinician's reference (``Practitioner/123``), if known.
        :param recipients: who is told (the protocol's ``alert`` setting).
        :param actor: the staff member whose action caused the alert (or the job's name).
        :raises ValueError: for an unknown kind.
        """
        if kind not in KINDS:
            raise ValueError(f"Unknown alert kind {kind!r}.")
        now = datetime.fromtimestamp(self._clock(), UTC)
        subject = self._pseudonyms.pseudonym(tenant, f"Patient/{patient_id}")
        targets: list[str] = []
        if AlertRecipient.CLINICIAN in recipients and clinician:
            targets.append(clinician)
        if AlertRecipient.ADMIN in recipients:
            targets.append(ADMIN_RECIPIENT)
        for recipient in targets:
            session.add(
                Notice(
                    id=str(uuid.uuid4()),
                    tenant_id=tenant,
                    recipient=recipient,
                    kind=kind,
                    subject=subject,
                    actor=actor,
                    created_at=now,
                )
            )
        if (
            AlertRecipient.CLINICIAN in recipients
            and clinician
            and clinician.startswith("Practitioner/")
        ):
            identifier = f"urn:uuid:{uuid.uuid4()}"
            self._outbox.enqueue(
                session,
                tenant=tenant,
                resource=communication(
                    kind=kind,
                    patient_id=patient_id,
                    practitioner=clinician,
                    identifier=identifier,
                    sent=now,
                ),
                identifier_system=COMMUNICATION_SYSTEM,
                identifier_value=identifier,
                created_by=actor,
                patient_pseudonym=subject,
            )


def communication(
    *, kind: str, patient_id: str, practitioner: str, identifier: str, sent: datetime
) -> Communication:
    """The Communication telling ``practitioner`` about ``kind`` (neutral text, label ``R``)."""
    return Communication.model_validate(
        {
            "resourceType": "Communication",
            "meta": {"security": [{"system": _CONFIDENTIALITY, "code": "R"}]},
            "identifier": [{"system": COMMUNICATION_SYSTEM, "value": identifier}],
            "status": "completed",
            "subject": {"reference": f"Patient/{patient_id}"},
            "recipient": [{"reference": practitioner}],
            "sent": sent.isoformat(),
            "payload": [{"contentString": COMMUNICATION_TEXT[kind]}],
        }
    )
