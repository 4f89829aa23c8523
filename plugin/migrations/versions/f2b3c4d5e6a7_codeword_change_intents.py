# SPDX-License-Identifier: Apache-2.0
"""Appointment changes are recorded as intents before the EHR is written.

Revision ID: f2b3c4d5e6a7
Revises: e1a2b3c4d5f6
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f2b3c4d5e6a7"
down_revision = "e1a2b3c4d5f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: changes made before this revision were recorded in full at the time.
    op.create_table(
        "codeword_change_intents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("patient_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("appointment_key", sa.String(length=64), nullable=False),
        sa.Column("staff", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("base_version", sa.String(length=64), nullable=True),
        sa.Column("target_version", sa.String(length=64), nullable=True),
        sa.Column("expected", sa.String(length=64), nullable=True),
        sa.Column("result_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_codeword_change_intents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codeword_change_intents")),
    )
    op.create_index(
        op.f("ix_codeword_change_intents_grant_id"),
        "codeword_change_intents",
        ["grant_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_codeword_change_intents_appointment_key"),
        "codeword_change_intents",
        ["appointment_key"],
        unique=False,
    )
    op.create_index(
        "ix_codeword_change_intents_open",
        "codeword_change_intents",
        ["tenant_id", "state", "patient_pseudonym"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_codeword_change_intents_open", table_name="codeword_change_intents")
    op.drop_index(op.f("ix_codeword_change_intents_grant_id"), table_name="codeword_change_intents")
    op.drop_index(
        op.f("ix_codeword_change_intents_appointment_key"), table_name="codeword_change_intents"
    )
    op.drop_table("codeword_change_intents")
