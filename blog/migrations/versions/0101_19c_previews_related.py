"""secret preview links for drafts; related posts chosen at save time

Revision ID: 0101_19c_previews_related
Revises: 0101_19b_image_sizes

A reviewer sees a post before it is published through an expiring link the author can
revoke; only a salt is stored, the link's secret is derived with SECRET_KEY.
``posts.related`` holds the ids of a post's related posts (``blog rerender`` fills it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0101_19c_previews_related"
down_revision = "0101_19b_image_sizes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "preview_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "post_id",
            sa.Integer(),
            sa.ForeignKey("posts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_preview_links_post_id", "preview_links", ["post_id"])
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("related", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("related")
    op.drop_index("ix_preview_links_post_id", table_name="preview_links")
    op.drop_table("preview_links")
