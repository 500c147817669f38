"""payments: gateways per store, callbacks kept once, payment and refund states

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 17:51:26.167936
"""
from alembic import op
import sqlalchemy as sa
import commerce.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_gateways',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=30), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secrets', sa.Text(), nullable=False),
    sa.Column('callback_token', sa.String(length=64), nullable=False),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.Column('created_at', commerce.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', commerce.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_payment_gateways_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_gateways')),
    sa.UniqueConstraint('callback_token', name=op.f('uq_payment_gateways_callback_token')),
    sa.UniqueConstraint('store_id', 'provider', name=op.f('uq_payment_gateways_store_id_provider'))
    )
    with op.batch_alter_table('payment_gateways', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_gateways_store_id'), ['store_id'], unique=False)

    op.create_table('payment_callbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=30), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', commerce.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_callbacks_payment_id_payments')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_payment_callbacks_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_callbacks')),
    sa.UniqueConstraint('provider', 'dedup_key', name=op.f('uq_payment_callbacks_provider_dedup_key'))
    )
    with op.batch_alter_table('payment_callbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_callbacks_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_callbacks_store_id'), ['store_id'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_reference', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('failure_reason', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('redirect_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('simulated', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('expires_at', commerce.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', commerce.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_payments_status_expires_at', ['status', 'expires_at'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_payments_method_provider_reference'), ['method', 'provider_reference'])

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='succeeded'))
        batch_op.add_column(sa.Column('provider_reference', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_refunds_payment_id_payments'), 'payments', ['payment_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_refunds_payment_id_payments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))
        batch_op.drop_column('provider_reference')
        batch_op.drop_column('status')
        batch_op.drop_column('payment_id')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payments_method_provider_reference'), type_='unique')
        batch_op.drop_index('ix_payments_status_expires_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('simulated')
        batch_op.drop_column('redirect_url')
        batch_op.drop_column('failure_reason')
        batch_op.drop_column('phone')
        batch_op.drop_column('provider_reference')

    with op.batch_alter_table('payment_callbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_callbacks_store_id'))
        batch_op.drop_index(batch_op.f('ix_payment_callbacks_payment_id'))

    op.drop_table('payment_callbacks')
    with op.batch_alter_table('payment_gateways', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_gateways_store_id'))

    op.drop_table('payment_gateways')
