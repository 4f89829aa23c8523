# SPDX-License-Identifier: Apache-2.0
"""What the code-word pages share: the client in context, the staff member's reference, the
practice's time zone and the "done" messages.  The blueprint is in :mod:`.views`."""

from __future__ import annotations

from datetime import tzinfo

from flask import request

from ..launch.store import LiveLaunch
from ..registry import get_service
from ..tenants.interfaces import TenantRepository
from .errors import NoClientInContext
from .forms import practice_zone

__all__ = ["DONE", "actor", "done_message", "patient", "zone"]

DONE = {
    "reschedule": "The appointment was moved. The list below shows the new time from the EHR.",
    "cancel": "The appointment was cancelled in the EHR.",
    "enrolled": "The verification word is set up. It is never shown again.",
    "changed": "The verification word was changed. The old word no longer works.",
    "reset": "The new verification word is active. The old word no longer works.",
    "pending": "The new word is waiting for a second staff member's approval. "
    "Until then the old word stays in use.",
    "approved": "The new verification word is active. The old word no longer works.",
    "unlocked": "The pause was cleared. Appointment changes can be verified again.",
}
"""``?done=`` key (after a redirect) -> the confirmation shown."""


def done_message() -> str | None:
    """The confirmation named by ``?done=`` on a GET (never on a re-rendered POST)."""
    return DONE.get(request.args.get("done", "")) if request.method == "GET" else None


def patient(live: LiveLaunch) -> str:
    """The client in context.

    :raises NoClientInContext: when the launch has none.
    """
    if live.context.patient is None:
        raise NoClientInContext
    return live.context.patient


def actor(live: LiveLaunch) -> str:
    """The staff member's ``Practitioner/..`` reference."""
    return live.context.fhir_user_reference or f"launch:{live.handle[:8]}"


def zone(live: LiveLaunch) -> tzinfo:
    """The practice's time zone (tenant option ``timezone``)."""
    return practice_zone(get_service(TenantRepository).by_id(live.context.tenant).options)
