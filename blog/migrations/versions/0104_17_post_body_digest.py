"""post body digest: a digest of each post's source, body and TOC, written with them

The static build compares it instead of reading every body. Rows written before this
revision keep ``NULL``; the build digests their bodies itself until their next save or
re-render stores the digest.

Revision ID: 0104_17_post_body_digest
Revises: 0103_20_upload_content_type
"""

import sqlalchemy as sa
from alembic import op

revision = "0104_17_post_body_digest"
down_revision = "0103_20_upload_content_type"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("body_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("body_digest")
