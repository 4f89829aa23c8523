# SPDX-License-Identifier: Apache-2.0
"""Tenants (the iss allow-list), pending authorize requests and live launches.

Revision ID: 7c1e0a9d2b41
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c1e0a9d2b41"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        # Stored normalised (scheme and host lower-case, no trailing slash): the allow-list key.
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("auth_method", sa.String(40), nullable=False),
        sa.Column("signing_alg", sa.String(10), nullable=False),
        # AES-GCM sealed, associated data = tenant id; NULL for private_key_jwt tenants.
        sa.Column("client_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("scope", sa.String(2000), nullable=False),
        sa.Column("frame_origins", sa.JSON(), nullable=False),
        sa.Column("role_mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("iss", name="uq_tenants_iss"),
    )
    op.create_table(
        "pending_states",
        # SHA-256 of the state; the state itself is never stored.
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name="pk_pending_states"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_pending_states_tenant_id_tenants",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_pending_states_expires_at", "pending_states", ["expires_at"])
    op.create_table(
        "launches",
        sa.Column("handle", sa.String(64), nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        # Context (patient id included), roles and tokens, sealed with the handle as AAD.
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("handle", name="pk_launches"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_launches_tenant_id_tenants",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_launches_session_hash", "launches", ["session_hash"])
    op.create_index("ix_launches_expires_at", "launches", ["expires_at"])
    op.create_index("ix_launches_last_seen_at", "launches", ["last_seen_at"])


def downgrade() -> None:
    op.drop_table("launches")
    op.drop_table("pending_states")
    op.drop_table("tenants")
