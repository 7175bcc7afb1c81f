"""listing indexes: keyset pages without reading post rows

Revision ID: 0004_listing_index
Revises: 0001

The public listings filter on kind, status, deletion and publish time and order by
(published_at, id). With every filtered column in one index, building a listing's page
boundaries and reading one page are index-only scans; a tag listing finds its posts
through (tag_id, post_id) instead of scanning the whole association table.
"""

from alembic import op

revision = "0004_listing_index"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_listing",
        "posts",
        ["kind", "published_at", "id", "status", "deleted_at", "category_id"],
    )
    op.create_index("ix_post_tags_tag", "post_tags", ["tag_id", "post_id"])


def downgrade() -> None:
    op.drop_index("ix_post_tags_tag", table_name="post_tags")
    op.drop_index("ix_posts_listing", table_name="posts")
