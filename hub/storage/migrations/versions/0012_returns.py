"""returns: RMAs of orders, their lines and their timelines

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('returns',
    sa.Column('id', _BigId, autoincrement=True, nullable=False),
    sa.Column('order_id', _BigId, nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('rejected_reason', sa.Text(), nullable=True),
    sa.Column('label_carrier', sa.String(length=50), nullable=True),
    sa.Column('label_tracking', sa.String(length=100), nullable=True),
    sa.Column('created_at', _When, nullable=False),
    sa.Column('updated_at', _When, nullable=False),
    sa.Column('authorised_at', _When, nullable=True),
    sa.Column('received_at', _When, nullable=True),
    sa.Column('restocked_at', _When, nullable=True),
    sa.Column('closed_at', _When, nullable=True),
    sa.Column('refund_status', sa.String(length=20), nullable=True),
    sa.Column('refund_ref', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_returns_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returns')),
    sa.UniqueConstraint('account', 'external_id', name=op.f('uq_returns_account_external_id'))
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_returns_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_returns_client'), ['client'], unique=False)
        batch_op.create_index(batch_op.f('ix_returns_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_returns_created_at'), ['created_at'], unique=False)
    op.create_table('return_lines',
    sa.Column('return_id', _BigId, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=50), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('condition', sa.String(length=20), nullable=True),
    sa.Column('grade', sa.String(length=1), nullable=True),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_lines_return_id_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('return_id', 'position', name=op.f('pk_return_lines'))
    )
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_lines_sku'), ['sku'], unique=False)
    op.create_table('return_events',
    sa.Column('id', _BigId, autoincrement=True, nullable=False),
    sa.Column('return_id', _BigId, nullable=False),
    sa.Column('at', _When, nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_events_return_id_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_events'))
    )
    with op.batch_alter_table('return_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_events_return_id'), ['return_id'], unique=False)


def downgrade() -> None:
    op.drop_table('return_events')
    op.drop_table('return_lines')
    op.drop_table('returns')
