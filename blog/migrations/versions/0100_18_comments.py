"""comments: reader comments, per-client rate-limit hits, spent form tokens, stale pages

Revision ID: 0100_18_comments
Revises: 0100_20_redirects
"""

import sqlalchemy as sa
from alembic import op

revision = "0100_18_comments"
down_revision = "0100_20_redirects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=20), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_author", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_id"], ["comments.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index(
        "ix_comments_post_status_parent",
        "comments",
        ["post_id", "status", "parent_id", "created_at"],
    )
    op.create_index("ix_comments_thread", "comments", ["thread_id", "status"])
    op.create_index("ix_comments_email", "comments", ["email"])
    op.create_index("ix_comments_body_hash", "comments", ["body_hash"])
    op.create_index("ix_comments_status", "comments", ["status"])
    op.create_index("ix_comments_created_at", "comments", ["created_at"])
    op.create_table(
        "comment_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_comment_hits_client", "comment_hits", ["client"])
    op.create_index("ix_comment_hits_at", "comment_hits", ["at"])
    op.create_table(
        "comment_token_uses",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_comment_token_uses_expires_at", "comment_token_uses", ["expires_at"])
    op.create_table(
        "stale_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stale_pages_created_at", "stale_pages", ["created_at"])


def downgrade() -> None:
    op.drop_table("stale_pages")
    op.drop_table("comment_token_uses")
    op.drop_table("comment_hits")
    op.drop_table("comments")
