# SPDX-License-Identifier: Apache-2.0
"""What Quietline offers in a launch, and whether each capability is usable.

A capability is usable when the user's role allows it and the EHR granted every scope it needs.
A missing scope disables the capability with a plain reason instead of a 403 loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from smart_launch.scopes import ScopeSet

from .authz import Permission
from .authz import has_permission

__all__ = ["CAPABILITIES", "Capability", "CapabilityState", "evaluate"]


@dataclass(frozen=True)
class Capability:
    key: str
    title: str
    summary: str
    permission: Permission
    scopes: tuple[str, ...]
    needs_patient: bool = True
    endpoint: str | None = None
    """The page that opens the capability, once it has one."""


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
        ("patient/Appointment.rs",),
        endpoint="codeword.index",
    ),
    Capability(
        "codeword-enroll",
        "Verification word set-up",
        "Enrol or change the client's verification word with the client present.",
        Permission.CODEWORD_ENROLL,
        ("patient/Patient.r", "patient/Appointment.rs"),
        endpoint="codeword.enroll_page",
    ),
    Capability(
        "notifications",
        "Contact preferences",
        "Stop reminders and messages that should not reach this client's usual channels.",
        Permission.NOTIFICATIONS_MANAGE,
        ("patient/CommunicationRequest.c", "patient/Consent.c"),
    ),
    Capability(
        "referrals",
        "Warm handoff",
        "Refer to a support service with the client's consent.",
        Permission.REFERRALS_WRITE,
        ("patient/ServiceRequest.c", "patient/Consent.c"),
    ),
    Capability(
        "admin",
        "Practice settings",
        "Verification protocols, retention and the service directory.",
        Permission.ADMIN_MANAGE,
        (),
        needs_patient=False,
        endpoint="admin.audit",
    ),
)


def evaluate(
    roles: tuple[str, ...], scopes: ScopeSet, *, has_patient: bool
) -> list[CapabilityState]:
    """State of every capability the user's role allows, in display order."""
    states: list[CapabilityState] = []
    for capability in CAPABILITIES:
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
