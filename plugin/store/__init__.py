# SPDX-License-Identifier: Apache-2.0
"""Database access: engine, sessions and migrations (SQLite by default, PostgreSQL by URL)."""

from .base import Base
from .db import Database

__all__ = ["Base", "Database"]
