"""attribution words: words each member inserted and deleted, beside the characters, on
doc_attribution

History before this migration is not recounted: existing rows keep 0 words (their characters
stay as they were), so a document's word figures cover only what was written after it.

Revision ID: 0016_attribution_words
Revises: 0015_progress_digests
Create Date: 2026-11-30 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016_attribution_words"
down_revision: str | Sequence[str] | None = "0015_progress_digests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("doc_attribution") as batch:
        batch.add_column(sa.Column("words_inserted", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("words_deleted", sa.BigInteger(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("doc_attribution") as batch:
        batch.drop_column("words_deleted")
        batch.drop_column("words_inserted")
