"""comment records

Comments become server records (DESIGN §3): a `comments` table whose authors and decisions the
server sets. Every thread and reply of the old Y.Doc root map `comments` becomes a record (see
`app.legacy_comments` for how it is read and who counts as its author), and the map is then
emptied by one update appended to each such document's log, so the old entries leave what syncs.
A downgrade drops the records; it does not put the entries back.

Revision ID: 0006_comment_records
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000

"""

import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.legacy_comments import Authorship, LegacyReader, Reading, StoredRow

# revision identifiers, used by Alembic.
revision: str = "0006_comment_records"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("section_id", sa.String(length=36), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("anchor_start", sa.LargeBinary(), nullable=True),
        sa.Column("anchor_end", sa.LargeBinary(), nullable=True),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_id"], ["comments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_document_id"), ["document_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_comments_parent_id"), ["parent_id"], unique=False)
    _migrate_comment_map(op.get_bind())


log = logging.getLogger("widen.migrations")
# What a document's update log and its new comments look like to this revision.
_updates = sa.table(
    "doc_updates", sa.column("id", sa.BigInteger), sa.column("document_id", sa.String),
    sa.column("origin", sa.String), sa.column("kind", sa.Integer),
    sa.column("created_at", sa.BigInteger), sa.column("data", sa.LargeBinary),
)
_KIND_UPDATE = 0
_comments = sa.table(
    "comments", *(sa.column(name) for name in (
        "id", "document_id", "section_id", "parent_id", "author_id", "body", "quote",
        "anchor_start", "anchor_end", "suggestion", "status", "decided_by", "decided_at",
        "created_at", "updated_at", "edited_at")),
)


def _migrate_comment_map(conn: sa.Connection) -> None:
    documents = set(conn.execute(sa.text("SELECT id FROM documents")).scalars())
    candidates = sorted(set(conn.execute(sa.select(_updates.c.document_id).distinct())
                            .scalars()) & documents)
    with contextlib.ExitStack() as stack:
        reader: LegacyReader | None = None  # a child process: started only if there is work
        for document_id in candidates:
            rows = conn.execute(
                sa.select(_updates.c.origin, _updates.c.kind, _updates.c.created_at,
                          _updates.c.data)
                .where(_updates.c.document_id == document_id).order_by(_updates.c.id)).all()
            # An entry of the map is, or follows from, an item naming its root in the same log.
            if not any(b"comments" in bytes(row.data) for row in rows):
                continue
            stored = [StoredRow(origin=row.origin, snapshot=row.kind != _KIND_UPDATE,
                                created_ms=int(row.created_at), data=bytes(row.data))
                      for row in rows]
            reader = reader or stack.enter_context(LegacyReader())
            _store(conn, document_id, reader.read(stored, document_id))


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def _store(conn: sa.Connection, document_id: str, reading: Reading) -> None:
    """Records for what was read; the map's retirement appended to the log."""
    if reading.failure is not None:
        log.error("legacy comments not fully migrated",
                  extra={"event": "migration.comments_failed", "document_id": document_id,
                         "why": reading.failure})
    owner = conn.execute(sa.text("SELECT owner_id FROM documents WHERE id = :id"),
                         {"id": document_id}).scalar_one()
    # Those who may comment: a viewer or progress member named in an entry did not write it.
    members = {owner, *conn.execute(sa.text(
        "SELECT user_id FROM grants WHERE document_id = :id AND role IN ('editor', 'reviewer')"),
        {"id": document_id}).scalars()}
    named = {a for t in reading.threads for a in (
        t.written.origin, t.claimed_author, t.decided.origin if t.decided else None,
        t.claimed_decider, *(r.written.origin for r in t.replies),
        *(r.claimed_author for r in t.replies)) if a}
    users = set(conn.execute(sa.text("SELECT id FROM users WHERE id IN :ids")
                             .bindparams(sa.bindparam("ids", expanding=True)),
                             {"ids": sorted(named)}).scalars()) if named else set()
    sections = set(conn.execute(sa.text("SELECT id FROM sections WHERE document_id = :id"),
                                {"id": document_id}).scalars())

    def who(written: Authorship, claimed: str | None) -> str | None:
        """The row's user, when the row had one; for a snapshot's content (or a row the server
        wrote itself) the named user, if they are the owner or a member who may comment."""
        if written.origin is not None and not written.snapshot:
            return written.origin if written.origin in users else None
        return claimed if claimed in members and claimed in users else None

    def when(written: Authorship, claimed_ms: int | None) -> int:
        if written.origin is not None and not written.snapshot:
            return written.row_ms
        return claimed_ms if claimed_ms and claimed_ms <= written.row_ms else written.row_ms

    records: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
    skipped = list(reading.skipped)
    for thread in reading.threads:
        if thread.section not in sections:
            skipped.append((thread.key, "its section is gone"))
            continue
        record_id = str(uuid.uuid4())
        created = when(thread.written, thread.claimed_ms)
        decided_by = decided_at = None
        if thread.decided is not None:
            decided_by = who(thread.decided, thread.claimed_decider)
            decided_at = when(thread.decided, thread.claimed_decided_ms)
        records.append({
            "id": record_id, "document_id": document_id, "section_id": thread.section,
            "parent_id": None, "author_id": who(thread.written, thread.claimed_author),
            "body": thread.body, "quote": thread.quote,
            "anchor_start": thread.anchor[0] if thread.anchor else None,
            "anchor_end": thread.anchor[1] if thread.anchor else None,
            "suggestion": thread.suggestion, "status": thread.status,
            "decided_by": decided_by,
            "decided_at": _utc(decided_at) if decided_at is not None else None,
            "created_at": _utc(created), "updated_at": _utc(max(created, decided_at or 0)),
            "edited_at": None,
        })
        for reply in thread.replies:
            reply_created = when(reply.written, reply.claimed_ms)
            replies.append({
                "id": str(uuid.uuid4()), "document_id": document_id,
                "section_id": thread.section, "parent_id": record_id,
                "author_id": who(reply.written, reply.claimed_author), "body": reply.body,
                "quote": "", "anchor_start": None, "anchor_end": None, "suggestion": None,
                "status": "open", "decided_by": None, "decided_at": None,
                "created_at": _utc(reply_created), "updated_at": _utc(reply_created),
                "edited_at": None,
            })
    if records:
        conn.execute(sa.insert(_comments), records)
    if replies:
        conn.execute(sa.insert(_comments), replies)
    for key, why in skipped:
        log.warning("legacy comment skipped",
                    extra={"event": "migration.comment_skipped", "document_id": document_id,
                           "entry": key[:200], "why": why})
    if reading.retire is not None:
        conn.execute(sa.insert(_updates).values(
            document_id=document_id, origin=None, kind=_KIND_UPDATE,
            created_at=int(time.time() * 1000), data=reading.retire))
    log.info("legacy comments migrated",
             extra={"event": "migration.comments_migrated", "document_id": document_id,
                    "threads": len(records), "replies": len(replies), "skipped": len(skipped),
                    "map_emptied": reading.retire is not None})


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_parent_id"))
        batch_op.drop_index(batch_op.f("ix_comments_document_id"))
    op.drop_table("comments")
