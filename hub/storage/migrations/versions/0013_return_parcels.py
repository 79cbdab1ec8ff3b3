"""return parcels: a return's label followed by its carrier's tracking as a parcel of its own,
coming back (direction 'return', with the return's id and no shipment)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.alter_column('shipment_id', existing_type=_BigId, nullable=True)
        batch_op.add_column(sa.Column('direction', sa.String(length=10), server_default='outbound', nullable=False))
        batch_op.add_column(sa.Column('return_id', _BigId, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_parcels_return_id_returns'), 'returns', ['return_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_parcels_return_id'), ['return_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM parcels WHERE direction = 'return'")
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcels_return_id'))
        batch_op.drop_constraint(batch_op.f('fk_parcels_return_id_returns'), type_='foreignkey')
        batch_op.drop_column('return_id')
        batch_op.drop_column('direction')
        batch_op.alter_column('shipment_id', existing_type=_BigId, nullable=False)
