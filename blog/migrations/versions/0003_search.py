"""search index: FTS5 bigram table on SQLite, weighted tsvector with GIN on PostgreSQL

Revision ID: 0003_search
Revises: 0001

An existing site fills the new index with ``blog reindex``.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0003_search"
down_revision = "0001"
branch_labels = ("search",)
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    columns: list[SchemaItem] = [
        sa.Column(
            "post_id",
            sa.Integer(),
            sa.ForeignKey("posts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("body_text", sa.Text(), nullable=False),
    ]
    if postgres:
        from sqlalchemy.dialects.postgresql import TSVECTOR

        columns.append(sa.Column("document", TSVECTOR(), nullable=False))
    op.create_table("search_documents", *columns)
    if postgres:
        op.create_index(
            "ix_search_documents_document",
            "search_documents",
            ["document"],
            postgresql_using="gin",
        )
    else:
        # Tokens are bigrams made in Python (blog/search.py); unicode61 only splits on spaces.
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, body, tags, category, tokenize = 'unicode61')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_documents")
