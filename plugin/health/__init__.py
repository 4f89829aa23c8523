# SPDX-License-Identifier: Apache-2.0
"""Liveness and readiness probes."""

from .views import bp

__all__ = ["bp"]
