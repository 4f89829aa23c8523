# SPDX-License-Identifier: Apache-2.0
"""Tenants keep what SMART discovery said at registration (endpoints, PKCE, auth methods).

Revision ID: e1a2b3c4d5f6
Revises: 9b2d4f6a8c03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e1a2b3c4d5f6"
down_revision = "9b2d4f6a8c03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing tenants start without a stored configuration: the first standalone sign-in for
    # one (or `quietline tenant refresh`) fetches and stores it.
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("smart_configuration", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("configuration_checked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("configuration_checked_at")
        batch.drop_column("smart_configuration")
