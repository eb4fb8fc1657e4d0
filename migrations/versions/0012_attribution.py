"""attribution: characters inserted and deleted per document, origin, root and day; progress
page views

Revision ID: 0012_attribution
Revises: 0010_document_trash
Create Date: 2026-11-30 12:00:00

Filled from the updates accepted from now on; older documents start with no attribution
(their update rows may already be compacted, and a row's origin alone cannot say what it
deleted). `doc_contributions` still counts their updates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012_attribution"
down_revision: str | Sequence[str] | None = "0010_document_trash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "doc_attribution",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("root", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("chars_inserted", sa.BigInteger(), nullable=False),
        sa.Column("chars_deleted", sa.BigInteger(), nullable=False),
        sa.Column("updates", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "origin", "root", "day"),
    )
    op.create_table(
        "progress_views",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("first_viewed_at", sa.DateTime(), nullable=False),
        sa.Column("last_viewed_at", sa.DateTime(), nullable=False),
        sa.Column("seen", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("progress_views")
    op.drop_table("doc_attribution")
