"""full-text search index

Revision ID: 0009_search_index
Revises: 0007_rejected_updates
Create Date: 2026-11-30 04:00:00

`search_entries` holds, per live section of a document, the document's title, the section's
title and the section's plain text (one row without a section for a document that has none);
`search_documents` says which state of each document the entries were made from. The full-text
index over the entries is the database's own: on SQLite an FTS5 table reading its content from
`search_entries` (kept in step by triggers), on PostgreSQL a generated, weighted `tsvector`
column with a GIN index. The server fills both in the background from its first start on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009_search_index"
down_revision: str | Sequence[str] | None = "0008_mail_links_verification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_INDEX = [
    # unicode61 folds case and (with 2) diacritics, as PostgreSQL's 'simple' folds case.
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        title, section_title, body,
        content='search_entries', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
        INSERT INTO search_fts(rowid, title, section_title, body)
        VALUES (new.id, new.title, new.section_title, new.body);
    END""",
    """CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, section_title, body)
        VALUES ('delete', old.id, old.title, old.section_title, old.body);
    END""",
    """CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, section_title, body)
        VALUES ('delete', old.id, old.title, old.section_title, old.body);
        INSERT INTO search_fts(rowid, title, section_title, body)
        VALUES (new.id, new.title, new.section_title, new.body);
    END""",
]

# Weights: A the document's title, B the section's, D (the default) the text; a `progress`
# member's query asks for A and B only.
_POSTGRESQL_INDEX = [
    """ALTER TABLE search_entries ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', section_title), 'B')
        || setweight(to_tsvector('simple', body), 'D')) STORED""",
    "CREATE INDEX ix_search_entries_tsv ON search_entries USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        "search_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("section_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("section_title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_search_entries_document_id", "search_entries", ["document_id"])
    op.create_table(
        "search_documents",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id"),
    )
    statements = _SQLITE_INDEX if op.get_bind().dialect.name == "sqlite" else _POSTGRESQL_INDEX
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("search_entries_au", "search_entries_ad", "search_entries_ai"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_documents")
    op.drop_index("ix_search_entries_document_id", table_name="search_entries")
    op.drop_table("search_entries")
