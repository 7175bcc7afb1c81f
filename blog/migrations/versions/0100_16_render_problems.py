"""posts.render_problems: which plugin failed while a post was rendered

Revision ID: 0100_16_render_problems
Revises: 0005_merge_heads

A save-time plugin failure no longer vanishes: the post is stored degraded with the
failing plugin, hook and error listed here (NULL when the render was complete), shown by
`blog plugins` and the admin, and cleared by `blog rerender`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0100_16_render_problems"
down_revision = "0005_merge_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("render_problems", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("render_problems")
