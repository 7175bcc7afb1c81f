"""upload content types: room for the longest download type (an OOXML document's)

Revision ID: 0103_20_upload_content_type
Revises: 0102_20_post_categories
"""

import sqlalchemy as sa
from alembic import op

revision = "0103_20_upload_content_type"
down_revision = "0102_20_post_categories"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.alter_column(
            "content_type", existing_type=sa.String(length=50), type_=sa.String(length=100)
        )


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.alter_column(
            "content_type", existing_type=sa.String(length=100), type_=sa.String(length=50)
        )
