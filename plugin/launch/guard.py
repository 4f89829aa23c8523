# SPDX-License-Identifier: Apache-2.0
"""The decorator every launched page uses: opens the launch and checks one permission."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import Concatenate
from typing import ParamSpec
from typing import TypeVar

from flask import g

from ..authz import Permission
from ..authz import has_permission
from ..errors import Forbidden
from ..registry import get_service
from .services import LaunchService
from .sessions import browser_binding
from .store import LiveLaunch

__all__ = ["launch_required", "required_permission"]

P = ParamSpec("P")
R = TypeVar("R")


def required_permission(view: Callable[..., Any]) -> Permission | None:
    """The permission :func:`launch_required` checks before ``view`` runs, if it guards it."""
    value = getattr(view, "required_permission", None)
    return value if isinstance(value, Permission) else None


def launch_required(
    permission: Permission,
) -> Callable[[Callable[Concatenate[LiveLaunch, P], R]], Callable[..., R]]:
    """Open ``handle`` for this browser session, or raise :class:`SessionExpired`.

    Sets ``g.launch`` and narrows ``frame-ancestors`` to the launching EHR.  The wrapper
    carries ``required_permission``, so a walk over the URL map can prove every launched page
    checks one.
    """

    def decorator(view: Callable[Concatenate[LiveLaunch, P], R]) -> Callable[..., R]:
        @wraps(view)
        def wrapper(handle: str, *args: Any, **kwargs: Any) -> R:
            service = get_service(LaunchService)
            live = service.open(handle, browser_binding())
            g.frame_origins = service.tenants.by_id(live.context.tenant).frame_origins
            g.launch = live
            if not has_permission(live.roles, permission):
                raise Forbidden
            return view(live, *args, **kwargs)

        vars(wrapper)["required_permission"] = permission
        return wrapper

    return decorator
