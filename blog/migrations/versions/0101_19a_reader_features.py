"""posts: pinned rank, series name and order (from front matter), password hash; links (友链)

Revision ID: 0101_19a_reader_features
Revises: 0100_18_comments
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0101_19a_reader_features"
down_revision = "0100_18_comments"
branch_labels = None
depends_on = None


def _rank(value: Any) -> int:
    if value is True:
        return 1
    if isinstance(value, int) and value > 0:
        return value
    return 0


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("pinned", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("series", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("series_order", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=300), nullable=True))
    op.create_index("ix_posts_series", "posts", ["series"])
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("avatar", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Posts saved (or imported from Hexo/WordPress) before this revision kept these keys in
    # ``meta`` only: copy them so they are pinned and listed as their authors asked.
    bind = op.get_bind()
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer()),
        sa.column("meta", sa.Text()),
        sa.column("pinned", sa.Integer()),
        sa.column("series", sa.String()),
        sa.column("series_order", sa.Integer()),
    )
    for post_id, raw in bind.execute(sa.select(posts.c.id, posts.c.meta)).all():
        meta = raw if isinstance(raw, dict) else json.loads(raw or "{}")
        if not isinstance(meta, dict):
            continue
        series = meta.get("series")
        if isinstance(series, list):
            series = series[0] if series else None  # Hugo's taxonomy form
        if not isinstance(series, str) or any(c in series for c in "/\\") or not series.strip(". "):
            series = None  # a name the save-time check refuses: the author fixes it on edit
        order = meta.get("series_order")
        if isinstance(order, bool) or not isinstance(order, int):
            order = None
        values = {
            "pinned": _rank(meta.get("pinned")),
            "series": series.strip()[:200] if series else None,
            "series_order": order,
        }
        if values["pinned"] or values["series"]:
            bind.execute(sa.update(posts).where(posts.c.id == post_id).values(**values))


def downgrade() -> None:
    op.drop_table("links")
    op.drop_index("ix_posts_series", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("password_hash")
        batch.drop_column("series_order")
        batch.drop_column("series")
        batch.drop_column("pinned")
