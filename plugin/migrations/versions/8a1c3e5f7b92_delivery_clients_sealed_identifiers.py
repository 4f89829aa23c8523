# SPDX-License-Identifier: Apache-2.0
"""Backend clients per tenant, a tenant change marker; sealed outbox identifiers and launches.

Revision ID: 8a1c3e5f7b92
Revises: 5b8e2d4f6a90
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8a1c3e5f7b92"
down_revision = "5b8e2d4f6a90"
branch_labels = None
depends_on = None

_OLD_STATUSES = "status IN ('pending', 'delivering', 'delivered', 'failed')"
_NEW_STATUSES = "status IN ('pending', 'delivering', 'delivered', 'failed', 'needs_attention')"


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("backend_client_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("backend_auth_method", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("backend_signing_alg", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("backend_client_secret_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("backend_scope", sa.String(length=2000), nullable=True))
        # Existing tenants keep today's behaviour: Backend Services with the launch client.
        batch.add_column(
            sa.Column(
                "backend_on_launch_client", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        batch.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("outbox_items") as batch:
        batch.add_column(sa.Column("identifier_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("identifier_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("remote_id_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("launch_sealed", sa.LargeBinary(), nullable=True))
        batch.alter_column("identifier_value", existing_type=sa.String(length=128), nullable=True)
        batch.drop_constraint("uq_outbox_items_idempotency", type_="unique")
        batch.create_unique_constraint(
            "uq_outbox_items_idempotency", ["tenant_id", "kind", "identifier_hash"]
        )
        batch.drop_constraint(op.f("ck_outbox_items_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_items_status"), _NEW_STATUSES)

    # Delivered rows no longer need the EHR's identifiers: the migration cannot seal them (the
    # key is not available here), so it drops them.  Rows still to be delivered keep their
    # clear identifier until delivery; they have no keyed hash, so a duplicate queued later is
    # caught by the EHR's conditional create rather than by the unique constraint.
    op.execute(
        sa.text(
            "UPDATE outbox_items SET identifier_value = NULL, remote_id = NULL "
            "WHERE status = 'delivered'"
        )
    )


def downgrade() -> None:
    # Sealed identifiers cannot be restored in the clear; rows without one get a placeholder.
    op.execute(sa.text("DELETE FROM outbox_items WHERE status = 'needs_attention'"))
    op.execute(
        sa.text("UPDATE outbox_items SET identifier_value = id WHERE identifier_value IS NULL")
    )
    with op.batch_alter_table("outbox_items") as batch:
        batch.drop_constraint(op.f("ck_outbox_items_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_items_status"), _OLD_STATUSES)
        batch.drop_constraint("uq_outbox_items_idempotency", type_="unique")
        batch.create_unique_constraint(
            "uq_outbox_items_idempotency",
            ["tenant_id", "kind", "identifier_system", "identifier_value"],
        )
        batch.alter_column("identifier_value", existing_type=sa.String(length=128), nullable=False)
        batch.drop_column("launch_sealed")
        batch.drop_column("remote_id_sealed")
        batch.drop_column("identifier_sealed")
        batch.drop_column("identifier_hash")
    with op.batch_alter_table("tenants") as batch:
        for column in (
            "updated_at",
            "revision",
            "backend_on_launch_client",
            "backend_scope",
            "backend_client_secret_sealed",
            "backend_signing_alg",
            "backend_auth_method",
            "backend_client_id",
        ):
            batch.drop_column(column)
