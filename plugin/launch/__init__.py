# SPDX-License-Identifier: Apache-2.0
"""SMART EHR and standalone launch, the redirect endpoint and the app's JWKS."""

from .views import bp

__all__ = ["bp"]
