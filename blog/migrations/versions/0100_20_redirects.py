"""redirects: old URL paths of imported sites answer 301

Revision ID: 0100_20_redirects
Revises: 0100_23_version_is_revision
"""

import sqlalchemy as sa
from alembic import op

revision = "0100_20_redirects"
down_revision = "0100_23_version_is_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redirects",
        sa.Column("old_path", sa.String(length=1000), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("old_path"),
    )


def downgrade() -> None:
    op.drop_table("redirects")
