"""every category of a post, not only the first

Revision ID: 0102_20_post_categories
Revises: 0102_16_post_body_text

``post_categories`` lists each post's categories, the primary one (``posts.category_id``)
at position 0. Existing posts get their primary category, plus the further ones an import
kept in ``meta["categories"]`` (which then leaves ``meta``: the table is the truth).
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0102_20_post_categories"
down_revision = "0102_16_post_body_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_categories",
        sa.Column(
            "post_id", sa.Integer(), sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "category_id",
            sa.Integer(),
            sa.ForeignKey("categories.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_post_categories_category", "post_categories", ["category_id", "post_id"])
    _fill()


def _names(value: Any) -> list[str]:
    # The importer stored Hexo's nested levels as "A / B"; each level is a category.
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            names.extend(part.strip() for part in item.split(" / "))
    return [name for name in dict.fromkeys(names) if name and len(name) <= 200]


def _fill() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    posts = sa.Table("posts", meta, autoload_with=bind)
    categories = sa.Table("categories", meta, autoload_with=bind)
    links = sa.Table("post_categories", meta, autoload_with=bind)
    known = {name: id_ for id_, name in bind.execute(sa.select(categories.c.id, categories.c.name))}
    rows = bind.execute(sa.select(posts.c.id, posts.c.category_id, posts.c.meta)).all()
    for post_id, category_id, post_meta in rows:
        ids = [category_id] if category_id is not None else []
        extra = post_meta.get("categories") if isinstance(post_meta, dict) else None
        for name in _names(extra) if extra is not None else []:
            if name not in known:
                known[name] = bind.execute(
                    categories.insert().values(name=name).returning(categories.c.id)
                ).scalar_one()
            ids.append(known[name])
        ids = list(dict.fromkeys(ids))
        if ids:
            bind.execute(
                links.insert(),
                [{"post_id": post_id, "category_id": c, "position": i} for i, c in enumerate(ids)],
            )
        if category_id is None and ids:
            bind.execute(posts.update().where(posts.c.id == post_id).values(category_id=ids[0]))
        if extra is not None:
            kept = {k: v for k, v in post_meta.items() if k != "categories"}
            bind.execute(posts.update().where(posts.c.id == post_id).values(meta=kept))


def downgrade() -> None:
    op.drop_index("ix_post_categories_category", table_name="post_categories")
    op.drop_table("post_categories")
