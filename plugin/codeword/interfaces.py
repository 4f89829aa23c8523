# SPDX-License-Identifier: Apache-2.0
"""The code-word seam: the protocol an admin sets, verification outcomes and grants.

Nothing here carries the word itself; :class:`Grant` carries the appointment id only in memory
(the database holds a keyed hash of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import Any
from typing import Protocol

__all__ = [
    "Action",
    "AlertRecipient",
    "EnrollmentStatus",
    "Grant",
    "PatientFacts",
    "ProtectedClients",
    "VerificationPolicy",
    "VerifyOutcome",
    "VerifyResult",
]


class Action(StrEnum):
    """What a caller may ask for; the protocol says which of these need the word."""

    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    BOOK = "book"
    CONTACT_DETAILS = "contact-details"
    RELEASE_RECORDS = "release-records"
    TELEHEALTH_LINK = "telehealth-link"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]

    @property
    def on_appointment(self) -> bool:
        """Whether the action changes one existing appointment (and so binds to its id)."""
        return self in {Action.RESCHEDULE, Action.CANCEL, Action.TELEHEALTH_LINK}


ACTION_LABELS: Mapping[Action, str] = {
    Action.RESCHEDULE: "Move an appointment",
    Action.CANCEL: "Cancel an appointment",
    Action.BOOK: "Book an appointment",
    Action.CONTACT_DETAILS: "Change contact details",
    Action.RELEASE_RECORDS: "Release records",
    Action.TELEHEALTH_LINK: "Change a video-visit link",
}


class AlertRecipient(StrEnum):
    """Who hears about failed attempts and lockouts."""

    CLINICIAN = "clinician"
    """The treating clinician (the one who enrolled the word), in Quietline and in the EHR."""
    ADMIN = "admin"
    """Practice admins, in Quietline."""


@dataclass(frozen=True)
class VerificationPolicy:
    """A tenant's verification rules, set by a practice admin.

    :param actions: the actions that need the word.
    :param max_failures: failed attempts before the lockout (1-10).
    :param lockout_minutes: how long a lockout lasts (5-10080).
    :param alert: who is alerted on a failed attempt and on a lockout.  The treating clinician
        always is (it is added when missing); the protocol decides whether admins are too.
    :param second_approval: a reset needs a second staff member's approval.
    :param min_length: shortest word accepted at enrollment (6-64).
    :param refused_words: extra words the practice refuses (beyond the built-in common words,
        the client's names and birth date).
    :param grant_minutes: how long a grant stays usable after verification (1-30).
    """

    actions: frozenset[Action] = frozenset({Action.RESCHEDULE, Action.CANCEL})
    max_failures: int = 3
    lockout_minutes: int = 60
    alert: frozenset[AlertRecipient] = frozenset({AlertRecipient.CLINICIAN})
    second_approval: bool = False
    min_length: int = 8
    refused_words: tuple[str, ...] = ()
    grant_minutes: int = 10

    def __post_init__(self) -> None:
        if AlertRecipient.CLINICIAN not in self.alert:
            object.__setattr__(self, "alert", self.alert | {AlertRecipient.CLINICIAN})

    def to_dict(self) -> dict[str, Any]:
        return {
            "actions": sorted(a.value for a in self.actions),
            "max_failures": self.max_failures,
            "lockout_minutes": self.lockout_minutes,
            "alert": sorted(r.value for r in self.alert),
            "second_approval": self.second_approval,
            "min_length": self.min_length,
            "refused_words": list(self.refused_words),
            "grant_minutes": self.grant_minutes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationPolicy:
        default = cls()
        return cls(
            actions=frozenset(Action(a) for a in data.get("actions", default.actions)),
            max_failures=int(data.get("max_failures", default.max_failures)),
            lockout_minutes=int(data.get("lockout_minutes", default.lockout_minutes)),
            alert=frozenset(AlertRecipient(r) for r in data.get("alert", default.alert)),
            second_approval=bool(data.get("second_approval", default.second_approval)),
            min_length=int(data.get("min_length", default.min_length)),
            refused_words=tuple(str(w) for w in data.get("refused_words", ())),
            grant_minutes=int(data.get("grant_minutes", default.grant_minutes)),
        )


@dataclass(frozen=True)
class PatientFacts:
    """What enrollment checks a word against, read live from the EHR and never stored."""

    names: tuple[str, ...] = ()
    birth_date: str | None = None
    """ISO ``YYYY-MM-DD`` (or a prefix of it)."""


@dataclass(frozen=True)
class EnrollmentStatus:
    enrolled: bool
    locked_until: datetime | None = None
    failures: int = 0
    pending_reset: bool = False
    pending_by: str | None = None
    treating_clinician: str | None = None
    enrolled_at: datetime | None = None


class VerifyOutcome(StrEnum):
    GRANTED = "granted"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_ENROLLED = "not-enrolled"
    NOT_REQUIRED = "not-required"
    RATE_LIMITED = "rate-limited"


@dataclass(frozen=True)
class Grant:
    """A single-use permission for one action (on one appointment when the action has one).

    ``token`` is the secret the staff member's page holds; only its hash is stored.
    """

    id: str
    token: str
    action: Action
    appointment_id: str | None
    expires_at: datetime


@dataclass(frozen=True)
class VerifyResult:
    outcome: VerifyOutcome
    grant: Grant | None = None
    remaining: int | None = None
    """Attempts left before the lockout, after a wrong word."""
    locked_until: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


class ProtectedClients(Protocol):
    """Whether a client is under a verification protocol (has an enrolled word)."""

    def is_protected(self, tenant: str, patient_id: str) -> bool:
        """``patient_id`` is the bare FHIR id (``pat-1``), not ``Patient/pat-1``."""
