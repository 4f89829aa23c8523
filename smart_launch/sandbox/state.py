# SPDX-License-Identifier: Apache-2.0
"""The objects one sandbox app shares between its views, kept in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from flask import Flask
from flask import current_app

from .schedule import PendingChanges

if TYPE_CHECKING:
    from .cds_client import CdsClient
    from .cds_jwt import CdsSigningKey
    from .config import SandboxConfig
    from .database import Database
    from .grants import GrantStore
    from .jwks import JwksCache
    from .request_log import RequestLog
    from .signing import SigningKey
    from .store import ResourceStore

__all__ = ["EXTENSION_KEY", "SandboxState", "get_state"]

EXTENSION_KEY = "smart_launch.sandbox"


@dataclass
class SandboxState:
    """Everything a request handler of the sandbox needs."""

    config: SandboxConfig
    db: Database
    store: ResourceStore
    grants: GrantStore
    signing_key: SigningKey
    jwks_cache: JwksCache
    request_log: RequestLog
    cds_key: CdsSigningKey
    cds: CdsClient
    pending: PendingChanges = field(default_factory=PendingChanges)
    """Book and Change requests waiting for the user's decision on decision support's cards."""
    authorization_server: Any = None
    """The authlib ``AuthorizationServer`` (untyped library object)."""


def get_state(app: Flask | None = None) -> SandboxState:
    """The :class:`SandboxState` of ``app`` (default: the current app)."""
    target = current_app if app is None else app
    state = target.extensions[EXTENSION_KEY]
    if not isinstance(state, SandboxState):
        raise TypeError("The sandbox state is missing from the Flask app.")
    return state
