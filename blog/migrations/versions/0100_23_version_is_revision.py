"""repair posts whose version fell behind their newest revision

Revision ID: 0100_23_version_is_revision
Revises: 0100_22_shared_state

Before saves claimed their version with a conditional UPDATE, simultaneous saves could
each append a revision while the post's version moved by one. A save now writes revision
number ``version + 1``, which such a post already has; setting ``version`` to the newest
revision's number lets it be saved again. No schema change.
"""

from alembic import op

revision = "0100_23_version_is_revision"
down_revision = "0100_22_shared_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE posts SET version = "
        "(SELECT MAX(number) FROM revisions WHERE revisions.post_id = posts.id) "
        "WHERE version < (SELECT MAX(number) FROM revisions WHERE revisions.post_id = posts.id)"
    )


def downgrade() -> None:
    pass  # the repaired versions are correct under the old code too
