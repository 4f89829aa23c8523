# SPDX-License-Identifier: Apache-2.0
"""Quietline's base error.  Services raise these; one handler renders them."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "Forbidden",
    "InvalidInput",
    "PluginError",
    "SessionExpired",
]


class PluginError(Exception):
    """Base class.  ``description`` is shown to the user; it never holds PHI or secrets."""

    error = "plugin_error"
    description = "Something went wrong in Quietline."
    status_code = 500
    relaunch = False

    def __init__(self, description: str | None = None) -> None:
        if description is not None:
            self.description = description
        super().__init__(self.description)


class ConfigurationError(PluginError):
    """Startup configuration is missing or unsafe."""

    error = "configuration_error"
    description = "Quietline is not configured correctly."


class SessionExpired(PluginError):
    """No live launch for this browser: ask the user to relaunch from the EHR."""

    error = "session_expired"
    description = "Your Quietline session has ended. Open Quietline again from the EHR."
    status_code = 401
    relaunch = True


class Forbidden(PluginError):
    """The user's role does not allow this."""

    error = "forbidden"
    description = "Your role does not allow this."
    status_code = 403


class InvalidInput(PluginError):
    """The request's own data could not be decoded (too deeply nested, not valid text)."""

    error = "invalid_input"
    description = "Quietline could not read this request. Nothing was saved."
    status_code = 400
