"""carts.step_conversation, carts.step_number: the last shopper's step that changed a cart

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 01:00:00

A USSD hop can reach the app twice (the gateway retries a slow hop; a session lost from Redis is
replayed from AT's accumulated text). The cart now remembers the last step that changed it, so
such a copy adds nothing a second time. Existing carts have none: their next change applies.
Opening a cart checks the customer's ordered carts for the step (no cart is filled again with
what was ordered): they are found by (store_id, customer_id), ix_carts_customer.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('carts', sa.Column('step_conversation', sa.String(length=100), nullable=True))
    op.add_column('carts', sa.Column('step_number', sa.Integer(), nullable=True))
    op.create_index('ix_carts_customer', 'carts', ['store_id', 'customer_id'])


def downgrade() -> None:
    # Not batch mode: see 0007 (SQLite 3.35+ drops a column in place).
    op.drop_index('ix_carts_customer', table_name='carts')
    op.drop_column('carts', 'step_number')
    op.drop_column('carts', 'step_conversation')
