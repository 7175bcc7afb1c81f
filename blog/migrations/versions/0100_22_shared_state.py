"""shared state for several machines: upload bytes and rate-limit counters

Revision ID: 0100_22_shared_state
Revises: 0100_16_render_problems

Uploads lived only in one machine's instance folder and API rate limits only in each
process's memory; both move into the database every machine already shares.
"""

import sqlalchemy as sa
from alembic import op

revision = "0100_22_shared_state"
down_revision = "0100_16_render_problems"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_blobs",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window", sa.BigInteger(), primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_counters")
    op.drop_table("upload_blobs")
