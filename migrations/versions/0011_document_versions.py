"""version history: checkpoints and named versions of a document

Revision ID: 0011_document_versions
Revises: 0010_document_trash
Create Date: 2026-11-30 11:40:00

Each row holds what the live document gained since the previous version (or the whole state,
every so often, or a pointer to the section archive written when a section was deleted), so
history costs about the document's own size, not one copy per version.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011_document_versions"
down_revision: str | Sequence[str] | None = "0010_document_trash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("editors", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=True),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("archive_id", sa.String(length=36), nullable=True),
        sa.Column("state_vector", sa.LargeBinary(), nullable=False),
        sa.Column("delete_set", sa.LargeBinary(), nullable=True),
        sa.Column("chain_rows", sa.Integer(), nullable=False),
        sa.Column("chain_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["archive_id"], ["section_archives.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "number"),
    )
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_versions_document_id"), ["document_id"])


def downgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_versions_document_id"))
    op.drop_table("document_versions")
