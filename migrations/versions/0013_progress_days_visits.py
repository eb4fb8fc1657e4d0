"""progress days and visits: each document's words per section once a day (with its
sections' last edits and members' last writes), and what a member's previous visit of the
progress page showed last ("since you last looked" across a live page's refetches)

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
    with op.batch_alter_table("progress_views") as batch:
        batch.add_column(sa.Column("baseline", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("baseline_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("progress_views") as batch:
        batch.drop_column("baseline_at")
        batch.drop_column("baseline")
    op.drop_table("progress_days")
