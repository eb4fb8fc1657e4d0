"""client ids bound to users, deleted sections kept aside, tickets tied to their session

Revision ID: 0005
Revises: 0004_http_trust
Create Date: 2026-11-30 00:08:26

Existing update rows bind the Yjs client ids they wrote under to the user who sent them, so
nobody can take over an id that wrote before this revision either (rows already compacted
into a snapshot carry no sender, and their ids stay unbound).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pycrdt import get_state

from crdt.updates import decode_state_vector

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004_http_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "section_archives",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("section_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("deleted_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["deleted_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("section_archives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_section_archives_document_id"), ["document_id"])
        batch_op.create_index(batch_op.f("ix_section_archives_section_id"), ["section_id"])

    doc_clients = op.create_table(
        "doc_clients",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("document_id", "client_id"),
    )
    with op.batch_alter_table("sections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key("fk_sections_deleted_by_users", "users", ["deleted_by"],
                                    ["id"], ondelete="SET NULL")

    with op.batch_alter_table("ws_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_ws_tickets_session_id"), ["session_id"])
        batch_op.create_foreign_key("fk_ws_tickets_session_id_sessions", "sessions",
                                    ["session_id"], ["id"], ondelete="CASCADE")

    _bind_existing_client_ids(doc_clients)


def _bind_existing_client_ids(doc_clients: sa.Table) -> None:
    """The first sender of new content under each client id owns it, oldest row first."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT document_id, origin, data FROM doc_updates "
        "WHERE origin IS NOT NULL AND kind = 0 ORDER BY id"))
    owners: dict[tuple[str, int], str] = {}
    for document_id, origin, data in rows:
        try:
            clients = decode_state_vector(get_state(bytes(data)))
        except (ValueError, IndexError, RuntimeError):
            continue  # a row the engine cannot read binds nothing; it loads as before
        for client_id in clients:
            owners.setdefault((document_id, client_id), origin)
    if owners:
        op.bulk_insert(doc_clients, [
            {"document_id": document_id, "client_id": client_id, "origin": origin}
            for (document_id, client_id), origin in owners.items()])


def downgrade() -> None:
    with op.batch_alter_table("ws_tickets", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ws_tickets_session_id_sessions", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_ws_tickets_session_id"))
        batch_op.drop_column("session_id")

    with op.batch_alter_table("sections", schema=None) as batch_op:
        batch_op.drop_constraint("fk_sections_deleted_by_users", type_="foreignkey")
        batch_op.drop_column("deleted_by")
        batch_op.drop_column("deleted_at")

    op.drop_table("doc_clients")
    with op.batch_alter_table("section_archives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_section_archives_section_id"))
        batch_op.drop_index(batch_op.f("ix_section_archives_document_id"))
    op.drop_table("section_archives")
