"""progress digests: who gets the progress digest by mail and how often, which documents
they left out, what each member's last digest said of each document; and an HTML part for
queued mail

Revision ID: 0015_progress_digests
Revises: 0014_section_targets
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015_progress_digests"
down_revision: str | Sequence[str] | None = "0014_section_targets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "progress_digest_subscriptions",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("covered_until", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_progress_digest_subscriptions_covered_until",
                    "progress_digest_subscriptions", ["covered_until"])
    op.create_table(
        "progress_digest_opt_outs",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "document_id"),
    )
    op.create_table(
        "progress_digest_marks",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("covered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "document_id"),
    )
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("html_body", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_column("html_body")
    op.drop_table("progress_digest_marks")
    op.drop_table("progress_digest_opt_outs")
    op.drop_index("ix_progress_digest_subscriptions_covered_until",
                  table_name="progress_digest_subscriptions")
    op.drop_table("progress_digest_subscriptions")
