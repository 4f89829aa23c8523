# SPDX-License-Identifier: Apache-2.0
"""Service registry: ``create_app`` builds services, views look them up by type."""

from __future__ import annotations

from typing import Any
from typing import TypeVar
from typing import cast

from flask import Flask
from flask import current_app

__all__ = ["get_protocol", "get_service", "register_service"]

T = TypeVar("T")
_KEY = "plugin"


def register_service(app: Flask, kind: type[Any], service: object) -> None:
    app.extensions.setdefault(_KEY, {})[kind] = service


def get_service(kind: type[T], app: Flask | None = None) -> T:
    target = app or current_app
    return cast("T", target.extensions[_KEY][kind])


def get_protocol(kind: Any, app: Flask | None = None) -> Any:
    """Look up a service registered under a Protocol (mypy refuses abstract ``type[T]``).

    Annotate the result at the call site: ``provider: KeyProvider = get_protocol(KeyProvider)``.
    """
    target = app or current_app
    return target.extensions[_KEY][kind]
