# SPDX-License-Identifier: Apache-2.0
"""Appointments and verifications that belong to different clients.

A verification proves a caller knows one client's word, so it may only change that client's
appointments.  When the appointment read from the EHR names another client, or a grant given
for one client's word is posted in another client's launch, nothing is written and the event
is recorded as alert-worthy: one ``denied`` audit entry per client involved (by pseudonym; the
appointment only by the first 16 characters of its keyed hash) and a neutral
``appointment-not-this-client`` alert to each one's treating clinician (and to admins when the
protocol says so), in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..audit.interfaces import AuditAction
from ..audit.interfaces import AuditEvent
from ..audit.interfaces import AuditSink
from ..store import Database
from .alerts import Alerter
from .locking import write_transaction
from .models import CodewordRow
from .policies import PolicyStore

__all__ = ["MISMATCH_KIND", "Mismatch", "MismatchRecorder", "names_patient", "patients_of"]

MISMATCH_KIND = "appointment-not-this-client"
"""The alert kind (see :data:`plugin.codeword.alerts.NOTICE_TEXT`)."""
_PATIENT = "Patient/"
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _references(appointment: Any) -> list[str]:
    return [
        str(getattr(getattr(participant, "actor", None), "reference", None) or "")
        for participant in getattr(appointment, "participant", None) or []
    ]


def names_patient(appointment: Any, patient_id: str) -> bool:
    """Whether a participant of ``appointment`` is ``Patient/<patient_id>`` (relative or
    absolute reference)."""
    wanted = _PATIENT + patient_id
    return any(ref == wanted or ref.endswith("/" + wanted) for ref in _references(appointment))


def patients_of(appointment: Any) -> list[str]:
    """The bare ids of the patients ``appointment`` names, in order, without repeats."""
    found: list[str] = []
    for reference in _references(appointment):
        head, marker, patient = reference.rpartition(_PATIENT)
        if marker and _ID.fullmatch(patient) and (not head or head.endswith("/")):
            found.append(patient)
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Mismatch:
    """One refused request.

    :param patient_id: the client in the launch that made the request.
    :param owners: the clients the appointment actually names (may be empty).
    :param result: ``not-this-client`` (the appointment is not the client's) or
        ``other-client`` (the verification was given for another client's word).
    :param stage: ``verify`` (before a word is checked) or ``write`` (before the EHR write).
    """

    tenant: str
    patient_id: str
    staff: str
    action: str
    appointment_id: str | None
    result: str
    stage: str
    owners: Sequence[str] = ()


class MismatchRecorder:
    """Audits and alerts a :class:`Mismatch`.

    :param db: the database.
    :param audit: the audit chain.
    :param alerter: the neutral alerts.
    :param policies: who is alerted besides the treating clinician.
    :param pseudonym: ``(tenant, patient id) -> pseudonym``.
    :param appointment_key: ``(tenant, appointment id) -> keyed hash``.
    """

    def __init__(  # noqa: PLR0917  (one collaborator per seam)
        self,
        db: Database,
        audit: AuditSink,
        alerter: Alerter,
        policies: PolicyStore,
        pseudonym: Callable[[str, str], str],
        appointment_key: Callable[[str, str], str],
    ) -> None:
        self._db = db
        self._audit = audit
        self._alerter = alerter
        self._policies = policies
        self._pseudonym = pseudonym
        self._key = appointment_key

    def record(self, mismatch: Mismatch) -> None:
        """Write the audit entries and alerts of ``mismatch`` in one transaction."""
        tenant = mismatch.tenant
        recipients = self._policies.get(tenant).alert
        detail: dict[str, str | int | bool] = {
            "action": mismatch.action,
            "result": mismatch.result,
        }
        if mismatch.appointment_id:
            detail["appointment"] = self._key(tenant, mismatch.appointment_id)[:16]
        audit_action = (
            AuditAction.CODEWORD_VERIFY
            if mismatch.stage == "verify"
            else AuditAction.APPOINTMENT_CHANGE
        )
        clients = dict.fromkeys([mismatch.patient_id, *mismatch.owners])
        with write_transaction(self._db) as session:
            for client in clients:
                pseudonym = self._pseudonym(tenant, client)
                clinician = session.scalar(
                    select(CodewordRow.treating_clinician).where(
                        CodewordRow.tenant_id == tenant, CodewordRow.patient_pseudonym == pseudonym
                    )
                )
                self._audit.record(
                    AuditEvent(
                        tenant,
                        mismatch.staff,
                        audit_action,
                        outcome="denied",
                        subject=pseudonym,
                        detail=dict(detail),
                    ),
                    session=session,
                )
                self._alerter.alert(
                    session,
                    tenant=tenant,
                    patient_id=client,
                    kind=MISMATCH_KIND,
                    clinician=clinician,
                    recipients=recipients,
                    actor=mismatch.staff,
                )
