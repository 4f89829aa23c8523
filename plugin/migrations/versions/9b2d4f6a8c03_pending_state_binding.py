# SPDX-License-Identifier: Apache-2.0
"""Pending sign-in states carry a hash of their browser binding (compare-and-delete, caps).

Revision ID: 9b2d4f6a8c03
Revises: 8a1c3e5f7b92
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9b2d4f6a8c03"
down_revision = "8a1c3e5f7b92"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this revision are sign-ins in flight (ten minutes at most); they have
    # no binding hash, so they can no longer be consumed and simply expire.
    with op.batch_alter_table("pending_states") as batch:
        batch.add_column(
            sa.Column("binding_hash", sa.String(length=64), nullable=False, server_default="")
        )
        batch.create_index("ix_pending_states_binding_hash", ["binding_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_states") as batch:
        batch.drop_index("ix_pending_states_binding_hash")
        batch.drop_column("binding_hash")
