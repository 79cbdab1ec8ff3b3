"""reports: columns the reports read instead of joining or reading JSON: when each order was
received (indexed now) and shipped complete, its lines and those shipped complete; when each
parcel was delivered and its order placed; the stock passes that closed a lag

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('line_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('lines_shipped', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_orders_shipped_at'), ['shipped_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('order_placed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_parcels_delivered_at'), ['delivered_at'], unique=False)
    op.create_table('stock_sync_passes',
    sa.Column('id', _BigId, autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('pushed', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('oldest_change_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_sync_passes'))
    )
    with op.batch_alter_table('stock_sync_passes', schema=None) as batch_op:
        batch_op.create_index('ix_stock_sync_passes_account_at', ['account', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_sync_passes_at'), ['at'], unique=False)
    # what is known already: an order shipped or delivered shipped complete with its last
    # shipment; a delivered parcel was delivered at its delivered event (else its last one)
    op.execute(
        "UPDATE orders SET shipped_at = (SELECT max(shipments.shipped_at) FROM shipments "
        "WHERE shipments.order_id = orders.id) WHERE status IN ('shipped', 'delivered')"
    )
    op.execute(
        "UPDATE orders SET line_count = (SELECT count(*) FROM order_lines "
        "WHERE order_lines.order_id = orders.id)"
    )
    op.execute(
        "UPDATE orders SET lines_shipped = line_count WHERE status IN ('shipped', 'delivered')"
    )
    _partly_shipped(op.get_bind())
    op.execute(
        "UPDATE parcels SET order_placed_at = (SELECT orders.placed_at FROM orders "
        "WHERE orders.id = parcels.order_id)"
    )
    op.execute(
        "UPDATE parcels SET delivered_at = coalesce((SELECT min(parcel_events.at) "
        "FROM parcel_events WHERE parcel_events.parcel_id = parcels.id "
        "AND parcel_events.status = 'delivered'), parcels.last_event_at) "
        "WHERE status = 'delivered'"
    )


def _partly_shipped(conn) -> None:
    """Lines shipped complete of each partly shipped order, from its parcels' lines."""
    orders = sa.table('orders', sa.column('id'), sa.column('status'), sa.column('data', sa.JSON()),
                      sa.column('lines_shipped'))
    parcels = sa.table('parcels', sa.column('order_id'), sa.column('lines', sa.JSON()))
    rows = conn.execute(sa.select(orders.c.id, orders.c.data).where(orders.c.status == 'partially_shipped')).all()
    for order_id, data in rows:
        done = {}
        for (lines,) in conn.execute(sa.select(parcels.c.lines).where(parcels.c.order_id == order_id)):
            for line in lines or []:
                done[line['position']] = done.get(line['position'], 0) + int(line['quantity'])
        lines = (data or {}).get('lines') or []
        complete = sum(
            1 for i, line in enumerate(lines)
            if done.get(i, 0) >= int(line.get('quantity') or 0) or not line.get('requires_shipping', True)
        )
        conn.execute(orders.update().where(orders.c.id == order_id).values(lines_shipped=complete))


def downgrade() -> None:
    with op.batch_alter_table('stock_sync_passes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_sync_passes_at'))
        batch_op.drop_index('ix_stock_sync_passes_account_at')
    op.drop_table('stock_sync_passes')
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcels_delivered_at'))
        batch_op.drop_column('order_placed_at')
        batch_op.drop_column('delivered_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_created_at'))
        batch_op.drop_index(batch_op.f('ix_orders_shipped_at'))
        batch_op.drop_column('lines_shipped')
        batch_op.drop_column('line_count')
        batch_op.drop_column('shipped_at')
