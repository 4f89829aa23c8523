# SPDX-License-Identifier: Apache-2.0
"""The launched home page: patient banner and the capabilities this launch can use."""

from .views import bp

__all__ = ["bp"]
