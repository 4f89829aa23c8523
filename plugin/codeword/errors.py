# SPDX-License-Identifier: Apache-2.0
"""Why a code-word request was not carried out: an appointment change through Quietline, a
change of the word, or a form that could not be used.

Every message is calm and neutral (a front-desk screen may be seen by the caller's side of the
conversation) and says what was not done; none names the client or the appointment.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import PluginError

__all__ = [
    "AppointmentRequired",
    "BadForm",
    "ChangeConflict",
    "ChangeNotMade",
    "ChangeRecordPending",
    "ChangeRefused",
    "ChangesPaused",
    "ClientNotPresent",
    "CurrentWordWrong",
    "EhrUnavailable",
    "NoClientInContext",
    "NotChangeable",
    "NotThisClient",
    "TooManyAttempts",
    "WordRefused",
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


class ChangeRecordPending(PluginError):
    """The EHR took the change, but Quietline could not finish its own record of it yet; the
    record (audit entry and Provenance) is completed automatically.  Not a failure to show as
    "nothing was changed": the appointment was changed."""

    error = "change_record_pending"
    description = (
        "The appointment was changed in the EHR. The record of the change will be completed "
        "automatically; you do not need to do it again."
    )
    status_code = 202


class BadForm(PluginError):
    """A form arrived incomplete or altered; nothing was looked up or changed."""

    error = "bad_form"
    description = "This form was incomplete or changed, so nothing was changed."
    status_code = 400


class NoClientInContext(PluginError):
    error = "no_client_in_context"
    description = "Open a client's chart first."
    status_code = 400


class WordRefused(PluginError):
    """The word breaks the word rules; :attr:`problems` says how, in plain language."""

    error = "word_refused"
    description = "Choose a different code word."
    status_code = 400

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems) or None)
        self.problems = problems


class ClientNotPresent(PluginError):
    error = "client_not_present"
    description = "The client must be present to set or reset the code word."
    status_code = 400


class CurrentWordWrong(PluginError):
    """The current word given to change the word was wrong; it counted as a failed attempt."""

    error = "current_word_wrong"
    description = "The current word does not match, so nothing was changed."
    status_code = 400

    def __init__(self, remaining: int) -> None:
        tries = "try" if remaining == 1 else "tries"
        super().__init__(
            f"{self.description} {remaining} {tries} left before changes are paused. If the "
            "client does not remember it, choose that they forgot the word."
        )


class ChangesPaused(PluginError):
    error = "changes_paused"
    description = (
        "Changes for this client are paused after repeated failed verification, so nothing was "
        "changed. Clear the pause with the client present, then try again."
    )
    status_code = 423


class TooManyAttempts(PluginError):
    error = "too_many_attempts"
    description = "Too many attempts in a short time, so nothing was changed. Wait a few minutes."
    status_code = 429


class AppointmentRequired(PluginError):
    error = "appointment_required"
    description = "Choose the appointment this change is for, then verify the caller."
    status_code = 400
