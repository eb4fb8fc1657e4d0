"""updates the database refused, set aside

Revision ID: 0007_rejected_updates
Revises: 0005
Create Date: 2026-11-30 01:00:00

The writer keeps here an update the database refuses for good (a constraint or data error), so
the rest of its batch commits and no document stalls behind it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007_rejected_updates"
down_revision: str | Sequence[str] | None = "0006_comment_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "doc_updates_rejected",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("rejected_at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_doc_updates_rejected_document_id", "doc_updates_rejected",
                    ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_doc_updates_rejected_document_id", table_name="doc_updates_rejected")
    op.drop_table("doc_updates_rejected")
