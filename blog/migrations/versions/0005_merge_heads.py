"""merge the admin, search and listing-index branches into one head

Revision ID: 0005_merge_heads
Revises: 0002_admin, 0003_search, 0004_listing_index

The three revisions after the initial schema were written side by side and each revises
0001, so the history had three heads and every upgrade had to name "heads". From here on
there is one line of history: a deploy runs `upgrade head` and a machine can tell whether
its database is current by comparing one revision.
"""

revision = "0005_merge_heads"
down_revision = ("0002_admin", "0003_search", "0004_listing_index")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
