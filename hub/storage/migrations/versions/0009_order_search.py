"""order search: the customer's email in a column, indexes for the console's order filters

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_orders = sa.table('orders', sa.column('id', sa.BigInteger()), sa.column('data', sa.JSON()), sa.column('email', sa.String(254)))


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_placed_at'), ['placed_at'], unique=False)
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcels_tracking_number'), ['tracking_number'], unique=False)
    # the stored orders' emails, lower-cased as the hub writes them from now on
    conn = op.get_bind()
    for order_id, data in conn.execute(sa.select(_orders.c.id, _orders.c.data)).all():
        email = ((data or {}).get('customer') or {}).get('email')
        if isinstance(email, str) and email.strip() and len(email.strip()) <= 254:
            conn.execute(_orders.update().where(_orders.c.id == order_id).values(email=email.strip().lower()))


def downgrade() -> None:
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcels_tracking_number'))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_placed_at'))
        batch_op.drop_index(batch_op.f('ix_orders_number'))
        batch_op.drop_index(batch_op.f('ix_orders_email'))
        batch_op.drop_column('email')
