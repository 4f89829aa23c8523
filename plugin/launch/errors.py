# SPDX-License-Identifier: Apache-2.0
"""Launch errors that are not SMART protocol errors."""

from __future__ import annotations

from ..errors import PluginError

__all__ = ["LaunchParametersMissing"]


class LaunchParametersMissing(PluginError):
    error = "launch_parameters_missing"
    description = (
        "Quietline must be opened from the EHR (the launch link is incomplete). "
        "Open it again from the patient's chart."
    )
    status_code = 400
    relaunch = True
