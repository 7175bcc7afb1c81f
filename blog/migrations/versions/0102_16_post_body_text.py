"""post body text: the visible text of each body, stored at save time for the search index

Rows saved before this revision keep ``NULL``; ``blog reindex`` reads their HTML once and
fills the column in, so the next reindex reads no HTML at all.

Revision ID: 0102_16_post_body_text
Revises: 0101_19c_previews_related
"""

import sqlalchemy as sa
from alembic import op

revision = "0102_16_post_body_text"
down_revision = "0101_19c_previews_related"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("body_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("body_text")
