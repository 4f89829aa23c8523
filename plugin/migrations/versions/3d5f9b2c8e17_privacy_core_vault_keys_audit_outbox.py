# SPDX-License-Identifier: Apache-2.0
"""Privacy core: vault, key versions, audit chain, outbox, notices; tenant retention.

Revision ID: 3d5f9b2c8e17
Revises: 7c1e0a9d2b41
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '3d5f9b2c8e17'
down_revision = '7c1e0a9d2b41'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=500), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    sa.UniqueConstraint('tenant_id', 'seq', name=op.f('uq_audit_entries_tenant_id'))
    )
    op.create_index('ix_audit_entries_tenant_id_at', 'audit_entries', ['tenant_id', 'at'], unique=False)
    op.create_table('audit_heads',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_audit_heads'))
    )
    # Versions of each tenant's retention-period keys; the keys themselves live only in the
    # key provider.  The unique constraint is what makes Keyring.label_for race-safe.
    op.create_table('kek_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('active', 'retired', 'destroyed')", name=op.f('ck_kek_versions_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kek_versions')),
    sa.UniqueConstraint('label', name=op.f('uq_kek_versions_label')),
    sa.UniqueConstraint('tenant_id', 'period', 'version', name=op.f('uq_kek_versions_tenant_id'))
    )
    op.create_index('ix_kek_versions_tenant_state', 'kek_versions', ['tenant_id', 'state'], unique=False)
    op.create_table('notices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=True),
    sa.Column('subject', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notices_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    op.create_index(op.f('ix_notices_recipient'), 'notices', ['recipient'], unique=False)
    op.create_index(op.f('ix_notices_subject'), 'notices', ['subject'], unique=False)
    op.create_table('outbox_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('identifier_system', sa.String(length=255), nullable=False),
    sa.Column('identifier_value', sa.String(length=128), nullable=False),
    sa.Column('sealed_payload', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('last_error_code', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('remote_id', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('patient_pseudonym', sa.String(length=64), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivering', 'delivered', 'failed')", name=op.f('ck_outbox_items_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outbox_items_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_items')),
    sa.UniqueConstraint('tenant_id', 'kind', 'identifier_system', 'identifier_value', name='uq_outbox_items_idempotency')
    )
    op.create_index('ix_outbox_items_due', 'outbox_items', ['status', 'next_attempt_at'], unique=False)
    op.create_index('ix_outbox_items_lease', 'outbox_items', ['status', 'lease_until'], unique=False)
    op.create_index('ix_outbox_items_patient', 'outbox_items', ['tenant_id', 'patient_pseudonym', 'created_at'], unique=False)
    # Vault rows hold no plaintext PHI: a keyed pseudonym, ciphertext and a wrapped data key.
    op.create_table('vault_records',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('patient_pseudonym', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=300), nullable=False),
    sa.Column('kek_label', sa.String(length=200), nullable=True),
    sa.Column('wrapped_dek', sa.LargeBinary(), nullable=True),
    sa.Column('nonce', sa.LargeBinary(), nullable=True),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('destroyed_reason', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_vault_records_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_records'))
    )
    op.create_index(op.f('ix_vault_records_expires_at'), 'vault_records', ['expires_at'], unique=False)
    op.create_index(op.f('ix_vault_records_kek_label'), 'vault_records', ['kek_label'], unique=False)
    op.create_index(op.f('ix_vault_records_patient_pseudonym'), 'vault_records', ['patient_pseudonym'], unique=False)
    # Existing tenants get the default retention policy and the R (restricted) label.
    op.add_column('tenants', sa.Column('retention', sa.JSON(), nullable=False, server_default='{}'))
    op.add_column(
        'tenants',
        sa.Column('confidentiality', sa.String(length=1), nullable=False, server_default='R'),
    )
    # Feature switches per tenant, e.g. {"hark": true} for the optional HARK questions.
    op.add_column('tenants', sa.Column('options', sa.JSON(), nullable=False, server_default='{}'))
    if op.get_bind().dialect.name == 'postgresql':
        # Append-only at the database too: the application never updates or deletes audit
        # entries; a role that can drop this trigger is still caught by the keyed chain.
        op.execute(
            """
            CREATE FUNCTION quietline_audit_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit entries are append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            """
            CREATE TRIGGER audit_entries_append_only
            BEFORE UPDATE OR DELETE ON audit_entries
            FOR EACH ROW EXECUTE FUNCTION quietline_audit_append_only()
            """
        )
        op.execute(
            """
            CREATE TRIGGER audit_entries_no_truncate
            BEFORE TRUNCATE ON audit_entries
            FOR EACH STATEMENT EXECUTE FUNCTION quietline_audit_append_only()
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries')
        op.execute('DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries')
        op.execute('DROP FUNCTION IF EXISTS quietline_audit_append_only()')
    op.drop_column('tenants', 'options')
    op.drop_column('tenants', 'confidentiality')
    op.drop_column('tenants', 'retention')
    op.drop_index(op.f('ix_vault_records_patient_pseudonym'), table_name='vault_records')
    op.drop_index(op.f('ix_vault_records_kek_label'), table_name='vault_records')
    op.drop_index(op.f('ix_vault_records_expires_at'), table_name='vault_records')
    op.drop_table('vault_records')
    op.drop_index('ix_outbox_items_patient', table_name='outbox_items')
    op.drop_index('ix_outbox_items_lease', table_name='outbox_items')
    op.drop_index('ix_outbox_items_due', table_name='outbox_items')
    op.drop_table('outbox_items')
    op.drop_index(op.f('ix_notices_subject'), table_name='notices')
    op.drop_index(op.f('ix_notices_recipient'), table_name='notices')
    op.drop_table('notices')
    op.drop_index('ix_kek_versions_tenant_state', table_name='kek_versions')
    op.drop_table('kek_versions')
    op.drop_table('audit_heads')
    op.drop_index('ix_audit_entries_tenant_id_at', table_name='audit_entries')
    op.drop_table('audit_entries')
