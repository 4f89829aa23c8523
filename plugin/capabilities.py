# SPDX-License-Identifier: Apache-2.0
"""What Quietline offers in a launch, and whether each capability is usable.

Only built capabilities are offered: one appears when it has a page (``endpoint``).  It is
usable when the user's role allows it and the EHR granted every scope it needs; a missing scope
disables it with a plain reason instead of a 403 loop.  The scopes Quietline asks the EHR for are
computed from these declarations (:mod:`plugin.launch.scopes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from smart_launch.scopes import ScopeSet

from .authz import Permission
from .authz import has_permission

__all__ = ["CAPABILITIES", "Capability", "CapabilityState", "built", "evaluate"]


@dataclass(frozen=True)
class Capability:
    key: str
    title: str
    summary: str
    permission: Permission
    scopes: tuple[str, ...]
    """The scopes the capability needs; without any of them it is turned off."""
    needs_patient: bool = True
    endpoint: str | None = None
    """The page that opens the capability; without one it is not built and not offered."""
    optional_scopes: tuple[str, ...] = ()
    """Scopes used when granted, without which the capability still works (a write the
    outbox otherwise makes with the backend client)."""


@dataclass(frozen=True)
class CapabilityState:
    capability: Capability
    available: bool
    reason: str | None


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "screening",
        "Safety screening and risk review",
        "Structured questions and a professional-judgement review, with safety planning.",
        Permission.SCREENING_WRITE,
        ("patient/Patient.r",),
        endpoint="screening.index",
        # The contacts review lists the client's related people when the EHR allows it.
        optional_scopes=("patient/RelatedPerson.s",),
    ),
    Capability(
        "notes",
        "Minimal note",
        "A short, labelled progress note for the EHR; details stay encrypted here.",
        Permission.NOTES_WRITE,
        ("patient/DocumentReference.c",),
        endpoint="notes.index",
    ),
    Capability(
        "codeword",
        "Appointment verification",
        "Set up or check the word a caller must give before appointments change.",
        Permission.CODEWORD_VERIFY,
        # Upcoming appointments are searched and read, then rescheduled or cancelled (update).
        ("patient/Appointment.rus",),
        endpoint="codeword.index",
        # The Provenance of a change is written with the user's token when granted.
        optional_scopes=("patient/Provenance.c",),
    ),
    Capability(
        "codeword-enroll",
        "Verification word set-up",
        "Enrol or change the client's verification word with the client present.",
        Permission.CODEWORD_ENROLL,
        ("patient/Patient.r", "patient/Appointment.s"),
        endpoint="codeword.enroll_page",
    ),
    Capability(
        "admin",
        "Practice settings",
        "The verification protocol and the audit log.",
        Permission.ADMIN_MANAGE,
        (),
        needs_patient=False,
        endpoint="admin.audit",
    ),
)


def built() -> tuple[Capability, ...]:
    """The capabilities that have a page, in display order."""
    return tuple(capability for capability in CAPABILITIES if capability.endpoint is not None)


def evaluate(
    roles: tuple[str, ...], scopes: ScopeSet, *, has_patient: bool
) -> list[CapabilityState]:
    """State of every capability the user's role allows, in display order."""
    states: list[CapabilityState] = []
    for capability in built():
        if not has_permission(roles, capability.permission):
            continue
        missing = [scope for scope in capability.scopes if not scopes.covers(scope)]
        if missing:
            reason = "The EHR did not grant access to " + ", ".join(
                scope.split("/", 1)[1].split(".", 1)[0] for scope in missing
            )
            states.append(CapabilityState(capability, available=False, reason=reason + "."))
        elif capability.needs_patient and not has_patient:
            states.append(
                CapabilityState(capability, available=False, reason="Open a client's chart first.")
            )
        else:
            states.append(CapabilityState(capability, available=True, reason=None))
    return states
