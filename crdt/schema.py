"""The update log: the only table the CRDT side writes.

It has its own MetaData so `crdt/` stays free of the web app's models; alembic migrates both.
There is deliberately no foreign key to `documents`: the web app deletes a document's log
through `UpdateLog.delete_document` in the same transaction as the document.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# kind: an incremental update as a client sent it, or a snapshot that replaced older rows.
KIND_UPDATE = 0
KIND_SNAPSHOT = 1

doc_updates = Table(
    "doc_updates",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("document_id", String(36), nullable=False),
    Column("origin", String(64), nullable=True),
    Column("kind", Integer, nullable=False, default=KIND_UPDATE),
    Column("created_at", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_doc_updates_document_id_id", "document_id", "id"),
)

# Who wrote how much, per document: kept up to date with every batch, so it survives the
# compaction that merges the rows (and their origins) into one snapshot.
doc_contributions = Table(
    "doc_contributions",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("origin", String(64), primary_key=True),
    Column("updates", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
)

# Attribution (`crdt.attribution`): characters and words each origin inserted and deleted, per
# root and per day (UTC), upserted in the same commit as the update rows it counts, so
# compaction never touches it. `updates` counts the origin's own updates that touched the root.
doc_attribution = Table(
    "doc_attribution",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("origin", String(64), primary_key=True),
    Column("root", String(255), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("chars_inserted", BigInteger, nullable=False),
    Column("chars_deleted", BigInteger, nullable=False),
    # Counted since migration 0016: rows from before it hold 0.
    Column("words_inserted", BigInteger, nullable=False, server_default="0"),
    Column("words_deleted", BigInteger, nullable=False, server_default="0"),
    Column("updates", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
)

# Which origin first wrote under each Yjs client id of a document: content under an id that
# belongs to someone else is refused, so nobody can write as another user's client.
doc_clients = Table(
    "doc_clients",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("client_id", BigInteger, primary_key=True, autoincrement=False),
    Column("origin", String(64), nullable=True),
)

# Updates the database refused for good (a constraint, a value it cannot hold), set aside by the
# writer so that the rest of their batch commits and no document stalls behind them. Kept for an
# operator to inspect; a document's deletion deletes them too.
doc_updates_rejected = Table(
    "doc_updates_rejected",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("document_id", String(36), nullable=False),
    Column("origin", String(64), nullable=True),
    # When the server received it and when the database refused it (Unix ms).
    Column("created_at", BigInteger, nullable=False),
    Column("rejected_at", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_doc_updates_rejected_document_id", "document_id"),
)
