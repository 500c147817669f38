"""updated_at on variants and cart lines

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00

The offline sync compares row times: a variant changed since the last sync, a cart line
changed on another channel. Rows that exist get the best time there is:

- a variant: the later of its product's ``updated_at`` and its own ``created_at``. The catalog
  sync used to send a product when it, or a variant made since, was newer than ``since``; with
  this time ``variants.updated_at >= since`` sends exactly the same products for them.
- a cart line: its cart's ``updated_at``, which every change to a line moved (never earlier
  than the line's own last change, so the server does not lose a merge it would have won).

SQLite can make a column NOT NULL only by copying its table, which its foreign keys forbid
while other rows refer to it; it may add one NOT NULL with a constant default instead, which
the backfill overwrites at once. PostgreSQL adds it nullable, fills it, then sets NOT NULL, and
keeps no default (the application sets the time).
"""
from alembic import op
import sqlalchemy as sa
import commerce.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('variants', 'cart_lines')
EPOCH = '1970-01-01 00:00:00.000000'  # SQLite only, overwritten by the backfill

BACKFILL = (
    """UPDATE variants SET updated_at = COALESCE((
           SELECT CASE WHEN products.updated_at > variants.created_at
                       THEN products.updated_at ELSE variants.created_at END
           FROM products WHERE products.id = variants.product_id), variants.created_at)""",
    """UPDATE cart_lines SET updated_at = (
           SELECT carts.updated_at FROM carts WHERE carts.id = cart_lines.cart_id)""",
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in TABLES:
        op.add_column(table, sa.Column(
            'updated_at', commerce.db.UtcDateTime(timezone=True), nullable=not sqlite,
            server_default=sa.text(f"'{EPOCH}'") if sqlite else None))
    for statement in BACKFILL:
        op.execute(sa.text(statement))
    if not sqlite:
        for table in TABLES:
            op.alter_column(table, 'updated_at', nullable=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_column(table, 'updated_at')
