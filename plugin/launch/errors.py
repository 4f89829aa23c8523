# SPDX-License-Identifier: Apache-2.0
"""Launch errors that are not SMART protocol errors."""

from __future__ import annotations

from ..errors import PluginError

__all__ = ["LaunchParametersMissing", "RolesNotMapped", "SignInBusy", "TooManySignIns"]


class LaunchParametersMissing(PluginError):
    error = "launch_parameters_missing"
    description = (
        "Quietline must be opened from the EHR (the launch link is incomplete). "
        "Open it again from the patient's chart."
    )
    status_code = 400
    relaunch = True


class TooManySignIns(PluginError):
    """Too many sign-ins were started from this browser or address; nothing was stored."""

    error = "too_many_sign_ins"
    description = (
        "Too many sign-ins were started from this browser in a short time. "
        "Wait a minute, then open Quietline again from the EHR."
    )
    status_code = 429


class SignInBusy(PluginError):
    """Quietline is taking too many sign-ins overall; nothing was stored."""

    error = "sign_in_busy"
    description = "Quietline is busy. Wait a minute, then open it again from the EHR."
    status_code = 503


class RolesNotMapped(PluginError):
    """The EHR user has no Quietline role; the description says what the admin must map."""

    error = "role_not_mapped"
    description = "Quietline has no role for your EHR account. Ask your Quietline administrator."
    status_code = 403
