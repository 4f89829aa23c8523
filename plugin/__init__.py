# SPDX-License-Identifier: Apache-2.0
"""Quietline: the Flask app."""

from .app import create_app

__all__ = ["create_app"]
