# SPDX-License-Identifier: Apache-2.0
"""Why an appointment change through Quietline was not made.

Every message is calm and neutral (a front-desk screen may be seen by the caller's side of the
conversation) and says what was not done; none names the client or the appointment.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import PluginError

__all__ = [
    "ChangeConflict",
    "ChangeNotMade",
    "ChangeRefused",
    "EhrUnavailable",
    "NotChangeable",
    "NotThisClient",
]


class ChangeNotMade(PluginError):
    """Base class: the EHR was not changed.

    :param retry_until: when the verification that allowed the change can still be used (the
        grant was released because a retry may succeed); ``None`` when it cannot be reused.
    """

    error = "change_not_made"
    description = "Nothing was changed."
    status_code = 409

    def __init__(
        self, description: str | None = None, *, retry_until: datetime | None = None
    ) -> None:
        super().__init__(description)
        self.retry_until = retry_until


class ChangeRefused(ChangeNotMade):
    """The appointment is not one this verification may change; the grant is spent."""

    error = "change_refused"
    description = "This appointment cannot be changed here. Nothing was changed."


class NotThisClient(ChangeRefused):
    error = "appointment_not_this_client"
    description = "This appointment is not one of this client's. Nothing was changed."


class NotChangeable(ChangeRefused):
    error = "appointment_not_changeable"
    description = (
        "This appointment is already cancelled or finished, or no longer in the EHR. "
        "Nothing was changed."
    )


class EhrUnavailable(ChangeNotMade):
    error = "ehr_unavailable"
    description = "The EHR could not be reached, so nothing was changed. Try again in a moment."
    status_code = 503


class ChangeConflict(ChangeNotMade):
    error = "appointment_conflict"
    description = (
        "The appointment kept changing in the EHR, so nothing was changed. "
        "Check it in the EHR, then try again."
    )
