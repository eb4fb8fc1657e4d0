"""The update log's read side: loading a document, its rows and the figures kept with them,
deleting a document's log, and compacting a long log into a snapshot.

The write side (group commit, durability, backpressure) is `crdt.store.UpdateStore`, which
tells this log what it committed (`grew`) so long logs get compacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crdt.batching import Batched
from crdt.schema import (
    KIND_SNAPSHOT,
    doc_attribution,
    doc_clients,
    doc_contributions,
    doc_updates,
    doc_updates_rejected,
)
from crdt.updates import decode_state_vector, fully_integrated

log = logging.getLogger("widen.store")

# Documents whose logs one query reads at most (each is one bound parameter).
_LOAD_BATCH = 256


@dataclass(frozen=True, slots=True)
class StoredDocument:
    updates: list[bytes]
    # Who owns each Yjs client id that has written to the document.
    client_origins: dict[int, str | None]


def _snapshot(updates: list[bytes]) -> bytes | None:
    """The document these rows make, re-encoded (deleted text dropped), or None if any of
    them still waits for missing content: a re-encoding would lose it, and a `merge_updates`
    of adversarial rows can produce bytes nothing decodes, so such a log stays as it is."""
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    state = doc.get_state()
    known = decode_state_vector(state)
    if all(fully_integrated(doc, update, state=state, known=known) for update in updates):
        return doc.get_update()
    return None


class UpdateLog:
    def __init__(self, engine: AsyncEngine, *, compaction_threshold: int) -> None:
        self._engine = engine
        self._compaction_threshold = compaction_threshold
        # Rows per loaded document since its last load or compaction.
        self._row_counts: dict[str, int] = {}
        self._compactions: dict[str, asyncio.Task[None]] = {}
        # Rooms loading at once (a restart's reconnect storm: thousands) read their logs
        # together, on one connection, rather than each holding one of the pool's.
        self._loads = Batched(self._load_many, batch=_LOAD_BATCH, name="widen-log-loads")

    async def stop(self) -> None:
        """Let compactions under way finish (each is one transaction)."""
        if self._compactions:
            await asyncio.gather(*self._compactions.values())

    async def load(self, document_id: str) -> StoredDocument:
        """Every stored update of a document, oldest first, and who owns which client id, for
        the room that will own it."""
        stored = await self._loads(document_id)
        self._row_counts[document_id] = len(stored.updates)
        return stored

    async def _load_many(self, document_ids: Sequence[str]) -> list[StoredDocument]:
        wanted = set(document_ids)
        updates: dict[str, list[bytes]] = {document_id: [] for document_id in wanted}
        owners: dict[str, dict[int, str | None]] = {document_id: {} for document_id in wanted}
        async with self._engine.connect() as conn:
            for row in await conn.execute(
                    select(doc_updates.c.document_id, doc_updates.c.data)
                    .where(doc_updates.c.document_id.in_(wanted))
                    # The index's order: each document's rows oldest first, and no sort.
                    .order_by(doc_updates.c.document_id, doc_updates.c.id)):
                updates[row.document_id].append(row.data)
            for client in await conn.execute(
                    select(doc_clients.c.document_id, doc_clients.c.client_id,
                           doc_clients.c.origin)
                    .where(doc_clients.c.document_id.in_(wanted))):
                owners[client.document_id][int(client.client_id)] = client.origin
        return [StoredDocument(updates[document_id], owners[document_id])
                for document_id in document_ids]

    @contextlib.asynccontextmanager
    async def _reading(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        """The caller's connection if it lends one, else one of our own. A request that holds
        a pooled connection must lend it: waiting for a second one while holding the first
        deadlocks once as many requests as the pool has connections do the same."""
        if conn is not None:
            yield conn
            return
        async with self._engine.connect() as own:
            yield own

    async def read(self, document_id: str, conn: AsyncConnection | None = None) -> list[bytes]:
        """Every stored update of a document, oldest first (a snapshot counts as one)."""
        async with self._reading(conn) as reading:
            result = await reading.execute(
                select(doc_updates.c.data)
                .where(doc_updates.c.document_id == document_id)
                .order_by(doc_updates.c.id)
            )
            return [row.data for row in result]

    async def revision(self, document_id: str,
                       conn: AsyncConnection | None = None) -> tuple[int, int]:
        """The last row id and the row count of a document's log: equal revisions, equal
        content (rows are only appended, and compaction replaces them by a newer row)."""
        async with self._reading(conn) as reading:
            row = (await reading.execute(
                select(func.max(doc_updates.c.id), func.count())
                .where(doc_updates.c.document_id == document_id))).one()
            return int(row[0] or 0), int(row[1])

    async def last_rows(self, document_ids: list[str],
                        conn: AsyncConnection | None = None) -> dict[str, int]:
        """The last row id of each document's log (0 for an empty one), in one query."""
        async with self._reading(conn) as reading:
            result = await reading.execute(
                select(doc_updates.c.document_id, func.max(doc_updates.c.id))
                .where(doc_updates.c.document_id.in_(document_ids))
                .group_by(doc_updates.c.document_id))
            last = {row[0]: int(row[1]) for row in result}
        return {document_id: last.get(document_id, 0) for document_id in document_ids}

    async def attribution(self, document_id: str,
                          conn: AsyncConnection | None = None) -> list[dict[str, Any]]:
        """Every attribution row of a document: origin, root, day, chars_inserted,
        chars_deleted, words_inserted, words_deleted, updates, last_at (Unix ms)."""
        async with self._reading(conn) as reading:
            result = await reading.execute(
                select(doc_attribution).where(doc_attribution.c.document_id == document_id))
            return [dict(row._mapping) for row in result]

    async def client_origins(self, document_id: str,
                             conn: AsyncConnection | None = None) -> dict[int, str | None]:
        """Who owns each Yjs client id that has written to the document."""
        async with self._reading(conn) as reading:
            result = await reading.execute(
                select(doc_clients.c.client_id, doc_clients.c.origin)
                .where(doc_clients.c.document_id == document_id))
            return {int(row.client_id): row.origin for row in result}

    async def contributions(self, document_id: str,
                            conn: AsyncConnection | None = None) -> list[dict[str, int | str]]:
        async with self._reading(conn) as reading:
            result = await reading.execute(
                select(doc_contributions).where(doc_contributions.c.document_id == document_id)
            )
            return [dict(row._mapping) for row in result]

    async def delete_document(self, conn: AsyncConnection, document_id: str) -> None:
        """Delete a document's log inside the caller's transaction (the document row's)."""
        if (compaction := self._compactions.get(document_id)) is not None:
            await asyncio.shield(compaction)  # or it would write its snapshot back afterwards
        await conn.execute(delete(doc_updates).where(doc_updates.c.document_id == document_id))
        await conn.execute(delete(doc_contributions)
                           .where(doc_contributions.c.document_id == document_id))
        await conn.execute(delete(doc_attribution)
                           .where(doc_attribution.c.document_id == document_id))
        await conn.execute(delete(doc_clients).where(doc_clients.c.document_id == document_id))
        await conn.execute(delete(doc_updates_rejected)
                           .where(doc_updates_rejected.c.document_id == document_id))
        self._row_counts.pop(document_id, None)

    def forget(self, document_id: str) -> None:
        """Drop bookkeeping for a document whose room unloaded."""
        self._row_counts.pop(document_id, None)

    async def grew(self, document_ids: list[str]) -> None:
        """The writer committed these rows (a document once per row): compact a log that grew
        past the threshold, in the background."""
        for document_id in document_ids:
            self._row_counts[document_id] = self._row_counts.get(document_id, 0) + 1
        for document_id in set(document_ids):
            if (self._row_counts[document_id] > self._compaction_threshold
                    and document_id not in self._compactions):
                # Off the writer's path: a busy document must not hold up everyone's commits.
                self._compactions[document_id] = asyncio.create_task(
                    self._compact_in_background(document_id),
                    name=f"widen-compact-{document_id}")

    async def _compact_in_background(self, document_id: str) -> None:
        try:
            await self.compact(document_id)
        except Exception:
            # Compaction only speeds up loading; the rows it failed to merge are intact and
            # the next batch for this document tries again.
            log.exception("compaction failed", extra={"event": "store.compact_failed",
                                                      "document_id": document_id})
        finally:
            del self._compactions[document_id]

    async def compact(self, document_id: str) -> None:
        """Replace a document's rows by one snapshot, atomically (rows written meanwhile stay).

        The snapshot is the rows applied one by one to a Doc and re-encoded, which drops the
        content of deleted text and makes it many times smaller than the log. That rebuild
        takes seconds for a long log, so it runs in a thread: on the event loop it stalled
        every connection, long enough for a refusal to close a socket before the answers owed
        for its earlier messages went out (the long property fuzz found it). No transaction
        is held open meanwhile; rows are only ever appended, so deleting up to the last row
        read replaces exactly what the snapshot holds.
        """
        async with self._compaction_lease(document_id) as leased:
            if leased:
                await self._compact(document_id)

    @contextlib.asynccontextmanager
    async def _compaction_lease(self, document_id: str) -> AsyncIterator[bool]:
        """Whether this process may compact the document now: on PostgreSQL, served by several
        processes, the one that holds a session-level advisory lock on it (the others skip:
        it is being done). One process on SQLite compacts each document once at a time."""
        if self._engine.dialect.name != "postgresql":
            yield True
            return
        key = {"key": _lock_key(document_id)}
        async with self._engine.connect() as conn:
            leased = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), key))
            await conn.commit()
            try:
                yield leased
            finally:
                if leased:
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                    await conn.commit()
        if not leased:
            log.info("log not compacted here: another process compacts it",
                     extra={"event": "store.compact_elsewhere", "document_id": document_id})

    async def _compact(self, document_id: str) -> None:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(doc_updates.c.id, doc_updates.c.data)
                .where(doc_updates.c.document_id == document_id)
                .order_by(doc_updates.c.id)
            )
            rows = result.all()
        if len(rows) < 2:
            return
        snapshot = await asyncio.to_thread(_snapshot, [row.data for row in rows])
        if snapshot is None:
            log.warning("log not compacted: some updates are still pending",
                        extra={"event": "store.compact_skipped", "document_id": document_id})
            # Try again only after another threshold's worth of rows, not on every batch.
            self._row_counts[document_id] = 0
            return
        async with self._engine.begin() as conn:
            deleted = await conn.execute(
                delete(doc_updates).where(
                    doc_updates.c.document_id == document_id,
                    doc_updates.c.id <= rows[-1].id,
                )
            )
            if deleted.rowcount != len(rows):
                # The rows are not those read: compacted meanwhile, or (several processes on
                # PostgreSQL) a row with a lower id committed after the read, which the
                # snapshot lacks. Deleting would lose it; the next threshold tries again.
                await conn.rollback()
                log.info("log not compacted: its rows changed meanwhile",
                         extra={"event": "store.compact_raced", "document_id": document_id})
                return
            await conn.execute(
                insert(doc_updates).values(
                    document_id=document_id,
                    origin=None,
                    kind=KIND_SNAPSHOT,
                    created_at=int(time.time() * 1000),
                    data=snapshot,
                )
            )
        if document_id in self._row_counts:
            self._row_counts[document_id] -= len(rows) - 1
        log.info("compacted update log", extra={"event": "store.compacted",
                                                 "document_id": document_id, "rows": len(rows),
                                                 "bytes": len(snapshot)})


def _lock_key(document_id: str) -> int:
    """A signed 64-bit advisory-lock key for compacting this document: every process derives
    the same one."""
    digest = hashlib.blake2b(f"widen-compact:{document_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
