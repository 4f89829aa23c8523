# SPDX-License-Identifier: Apache-2.0
"""Service registry: ``create_app`` builds services, views look them up by type.

A service is registered under the Protocol its callers depend on where there is one
(``AuditSink``, ``TenantRepository``, ``KeyProvider``), otherwise under its class.  The key is
typed as ``Callable[..., T]`` rather than ``type[T]`` so that a Protocol is accepted as a key
and the result is still typed: ``get_service(AuditSink)`` is an ``AuditSink``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeVar
from typing import cast

from flask import Flask
from flask import current_app

__all__ = ["get_service", "register_service"]

T = TypeVar("T")
_KEY = "plugin"


def register_service(app: Flask, kind: Callable[..., T], service: T) -> None:
    """Register ``service`` under ``kind`` (a Protocol or a class it satisfies)."""
    app.extensions.setdefault(_KEY, {})[kind] = service


def get_service(kind: Callable[..., T], app: Flask | None = None) -> T:
    """The service registered under ``kind``, on ``app`` or the current app."""
    target = app or current_app
    services: dict[Any, Any] = target.extensions[_KEY]
    return cast("T", services[kind])
