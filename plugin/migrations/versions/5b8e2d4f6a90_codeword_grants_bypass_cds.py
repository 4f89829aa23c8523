# SPDX-License-Identifier: Apache-2.0
"""Code-word verification, grants, bypass watch, CDS Hooks replay guard; outbox search param.

Revision ID: 5b8e2d4f6a90
Revises: 3d5f9b2c8e17
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '5b8e2d4f6a90'
down_revision = '3d5f9b2c8e17'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cds_seen_jwts',
    sa.Column('iss', sa.String(length=300), nullable=False),
    sa.Column('jti', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('iss', 'jti', name=op.f('pk_cds_seen_jwts'))
    )
    op.create_index(op.f('ix_cds_seen_jwts_expires_at'), 'cds_seen_jwts', ['expires_at'], unique=False)
    op.create_table('appointment_watch',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('appointment_key', sa.String(length=64), nullable=False),
    sa.Column('patient_pseudonym', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.String(length=64), nullable=True),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_appointment_watch_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_watch')),
    sa.UniqueConstraint('tenant_id', 'appointment_key', name=op.f('uq_appointment_watch_tenant_id'))
    )
    op.create_index(op.f('ix_appointment_watch_patient_pseudonym'), 'appointment_watch', ['patient_pseudonym'], unique=False)
    op.create_table('codeword_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('staff', sa.String(length=300), nullable=False),
    sa.Column('patient_pseudonym', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_codeword_attempts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codeword_attempts'))
    )
    op.create_index('ix_codeword_attempts_staff', 'codeword_attempts', ['tenant_id', 'staff', 'at'], unique=False)
    op.create_index('ix_codeword_attempts_subject', 'codeword_attempts', ['tenant_id', 'patient_pseudonym', 'at'], unique=False)
    op.create_table('codeword_grants',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('patient_pseudonym', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('appointment_key', sa.String(length=64), nullable=True),
    sa.Column('issued_to', sa.String(length=300), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_version', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_codeword_grants_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codeword_grants')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_codeword_grants_token_hash'))
    )
    op.create_index(op.f('ix_codeword_grants_appointment_key'), 'codeword_grants', ['appointment_key'], unique=False)
    op.create_index('ix_codeword_grants_subject', 'codeword_grants', ['tenant_id', 'patient_pseudonym'], unique=False)
    op.create_table('codeword_protocols',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_codeword_protocols_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_codeword_protocols'))
    )
    op.create_table('codewords',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('patient_pseudonym', sa.String(length=64), nullable=False),
    sa.Column('salt', sa.LargeBinary(), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('treating_clinician', sa.String(length=300), nullable=False),
    sa.Column('enrolled_by', sa.String(length=300), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pending_salt', sa.LargeBinary(), nullable=True),
    sa.Column('pending_digest', sa.LargeBinary(), nullable=True),
    sa.Column('pending_params', sa.JSON(), nullable=True),
    sa.Column('pending_by', sa.String(length=300), nullable=True),
    sa.Column('pending_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_codewords_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_codewords')),
    sa.UniqueConstraint('tenant_id', 'patient_pseudonym', name=op.f('uq_codewords_tenant_id'))
    )
    op.create_table('reconcile_cursors',
    sa.Column('tenant_id', sa.String(length=64), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reconcile_cursors_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_reconcile_cursors'))
    )
    op.add_column('outbox_items', sa.Column('search_param', sa.String(length=32), nullable=False, server_default='identifier'))


def downgrade() -> None:
    op.drop_column('outbox_items', 'search_param')
    op.drop_table('reconcile_cursors')
    op.drop_table('codewords')
    op.drop_table('codeword_protocols')
    op.drop_index('ix_codeword_grants_subject', table_name='codeword_grants')
    op.drop_index(op.f('ix_codeword_grants_appointment_key'), table_name='codeword_grants')
    op.drop_table('codeword_grants')
    op.drop_index('ix_codeword_attempts_subject', table_name='codeword_attempts')
    op.drop_index('ix_codeword_attempts_staff', table_name='codeword_attempts')
    op.drop_table('codeword_attempts')
    op.drop_index(op.f('ix_appointment_watch_patient_pseudonym'), table_name='appointment_watch')
    op.drop_table('appointment_watch')
    op.drop_index(op.f('ix_cds_seen_jwts_expires_at'), table_name='cds_seen_jwts')
    op.drop_table('cds_seen_jwts')
