"""stores.accepts_cash: a store may turn cash on delivery off

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 22:40:00

Cash on delivery (or at pickup) used to be offered by every store. Stores that exist keep
taking cash (the column is added true for them); a merchant who takes only mobile money can
turn it off.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('stores', sa.Column('accepts_cash', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade() -> None:
    # Not batch mode: on SQLite that copies the table, and dropping the old copy breaks the
    # foreign keys every store-owned table holds (SQLite 3.35+ drops a column in place).
    op.drop_column('stores', 'accepts_cash')
