"""progress days and visits: each document's words per section once a day, and each member's
previous look at the progress page ("since you last looked")

Revision ID: 0013_progress_days_visits
Revises: 0012_attribution
Create Date: 2026-11-30 12:30:00

The words series starts empty: a document's first row is written when its words are next
counted (an edit, or a look at its progress page).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013_progress_days_visits"
down_revision: str | Sequence[str] | None = "0012_attribution"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "progress_days",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("words", sa.BigInteger(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("concentrated", sa.Boolean(), nullable=False),
        sa.Column("section_edits", sa.JSON(), nullable=False),
        sa.Column("writers", sa.JSON(), nullable=False),
        sa.Column("counted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "day"),
    )
    op.create_table(
        "progress_visits",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("previous_at", sa.DateTime(), nullable=True),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.Column("current_at", sa.DateTime(), nullable=False),
        sa.Column("current", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("progress_visits")
    op.drop_table("progress_days")
