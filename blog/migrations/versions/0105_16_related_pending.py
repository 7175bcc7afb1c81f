"""related posts pending: the posts whose related lists are chosen after the save commits

A save notes the post in ``related_pending`` in its own transaction; its list and its
neighbours' are chosen right after the commit (after the response is sent), by the next
save, by ``blog serve`` at start, or by ``blog rerender``/``blog reindex``.

Revision ID: 0105_16_related_pending
Revises: 0104_17_post_body_digest
"""

import sqlalchemy as sa
from alembic import op

revision = "0105_16_related_pending"
down_revision = "0104_17_post_body_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "related_pending",
        sa.Column(
            "post_id", sa.Integer(), sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("related_pending")
