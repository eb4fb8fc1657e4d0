"""section targets: a section's target length in words (nullable: most have none), from
which the progress report tells its owner and assignee whether it is at risk of missing its
due date

Revision ID: 0014_section_targets
Revises: 0013_progress_days_visits
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014_section_targets"
down_revision: str | Sequence[str] | None = "0013_progress_days_visits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sections") as batch:
        batch.add_column(sa.Column("target_words", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sections") as batch:
        batch.drop_column("target_words")
