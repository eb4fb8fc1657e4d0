"""documents go into a trash before they are purged

Revision ID: 0010_document_trash
Revises: 0007_rejected_updates
Create Date: 2026-11-30 03:45:00

Deleting a document sets `deleted_at` instead of removing it, so its owner can restore it,
members and grants as they were, until the trash period (`WIDEN_TRASH_DAYS`) ends.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010_document_trash"
down_revision: str | Sequence[str] | None = "0009_search_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_documents_deleted_at"), ["deleted_at"])


def downgrade() -> None:
    # Documents in the trash would come back to life for everyone: purge them instead.
    trashed = "SELECT id FROM documents WHERE deleted_at IS NOT NULL"
    for log_table in ("doc_updates", "doc_contributions", "doc_clients", "doc_updates_rejected"):
        op.execute(f"DELETE FROM {log_table} WHERE document_id IN ({trashed})")
    op.execute("DELETE FROM documents WHERE deleted_at IS NOT NULL")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_deleted_at"))
        batch_op.drop_column("deleted_at")
