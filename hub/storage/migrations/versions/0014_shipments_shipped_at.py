"""reports: shipments indexed by when they shipped, so the return rate reports sum a range's
units shipped without reading every shipment

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_shipped_at'), ['shipped_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_shipped_at'))
