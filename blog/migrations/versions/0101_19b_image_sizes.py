"""image sizes: each upload's pixel size and the widths of its WebP variants

Revision ID: 0101_19b_image_sizes
Revises: 0101_19a_reader_features
"""

import sqlalchemy as sa
from alembic import op

revision = "0101_19b_image_sizes"
down_revision = "0101_19a_reader_features"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("variant_widths", sa.String(length=100), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("variant_widths")
        batch.drop_column("height")
        batch.drop_column("width")
