"""The update log's write side: group-committed appends, durability and backpressure.

One writer task owns every write. Rooms hand it updates without waiting; it commits whatever
accumulated during one flush interval in a single transaction, so a burst of keystrokes costs
one commit, not one per keystroke. An update counts as durable once its batch has committed:
`wait_durable` lets a room (or a clean shutdown) wait for exactly that.

When the database is away (a lost connection, a full disk) the writer retries the same batch
with backoff, reporting the streak in a few lines (`crdt.faults.FailureStreak`); rooms keep
relaying in memory meanwhile, until the backlog reaches its bound and incoming messages wait
(`saturated`, `drained`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, Table, insert, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crdt.attribution import Credits
from crdt.faults import REPORT_FIRST_AFTER_S, FailureStreak, Fault, classify, describe
from crdt.schema import (
    KIND_UPDATE,
    doc_attribution,
    doc_clients,
    doc_contributions,
    doc_updates,
    doc_updates_rejected,
)
from crdt.update_log import StoredDocument, UpdateLog

log = logging.getLogger("widen.store")

# Backoff between attempts of a failing commit: short at first (a blip), then every 2 s, so a
# database that comes back is used again within 2 s.
_RETRY_DELAYS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
# Queued updates, in batches, beyond which incoming messages wait for the writer.
_BACKLOG_BATCHES = 4
# As long as `doc_attribution.root` may be.
_MAX_ROOT_CHARS = 255


# The counters' columns that each batch adds to (the others it sets).
_CONTRIBUTION_SUMS = ("updates", "bytes")
_ATTRIBUTION_SUMS = ("chars_inserted", "chars_deleted", "words_inserted", "words_deleted",
                     "updates")


@cache
def _client_binding(dialect_name: str) -> Insert:
    """Bind client ids to their first writer; a row already there is the same claim (the
    room decided ownership before relaying). Built once per dialect."""
    return (postgresql_insert if dialect_name == "postgresql"
            else sqlite_insert)(doc_clients).on_conflict_do_nothing()


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    seq: int
    document_id: str
    origin: str | None
    data: bytes
    received_ms: int
    # Yjs client ids this update is the first to write under: bound to `origin` for good.
    claimed_clients: tuple[int, ...] = ()
    # What it changed, per (origin, root): `crdt.attribution`.
    credits: Credits | None = None


# Rows of the counters a batch adds to, one per key, sorted by key: another process's writer
# adds to the same rows (a document's writers on both), and rows locked in two orders
# deadlock; in one order a writer at most waits for the other's commit.

_UPDATE_COLUMNS = ("document_id", "origin", "kind", "created_at", "data")
_CONTRIBUTION_COLUMNS = ("document_id", "origin", "updates", "bytes", "first_at", "last_at")
_ATTRIBUTION_COLUMNS = ("document_id", "origin", "day", "root", "chars_inserted",
                        "chars_deleted", "words_inserted", "words_deleted", "updates",
                        "last_at")
_CLIENT_COLUMNS = ("document_id", "client_id", "origin")


# Each table's rows are tuples in its `_COLUMNS` order.
_Row = tuple[Any, ...]


def _update_rows(batch: list[PendingUpdate]) -> list[_Row]:
    """The update log's rows, in the batch's order (their ids follow it)."""
    return [(u.document_id, u.origin, KIND_UPDATE, u.received_ms, u.data) for u in batch]


def _contribution_rows(batch: list[PendingUpdate]) -> list[_Row]:
    totals: dict[tuple[str, str], list[int]] = {}
    for u in batch:
        if u.origin is None:
            continue
        entry = totals.setdefault((u.document_id, u.origin), [0, 0, u.received_ms, 0])
        entry[0] += 1
        entry[1] += len(u.data)
        entry[3] = u.received_ms
    return [(d, o, n, b, first, last) for (d, o), (n, b, first, last) in sorted(totals.items())]


def _attribution_rows(batch: list[PendingUpdate]) -> list[_Row]:
    """The batch's attribution, per (document, origin, root, day)."""
    totals: dict[tuple[str, str, date, str], list[int]] = {}
    for u in batch:
        if not u.credits:
            continue
        day = datetime.fromtimestamp(u.received_ms / 1000, UTC).date()
        for (origin, root), credit in u.credits.items():
            # The server's own edits are nobody's; a root name too long for the column
            # is no section (any root is allowed, only sections are reported).
            if origin is None or len(root) > _MAX_ROOT_CHARS:
                continue
            entry = totals.setdefault((u.document_id, origin, day, root), [0, 0, 0, 0, 0, 0])
            entry[0] += credit.inserted
            entry[1] += credit.deleted
            entry[2] += credit.words_inserted
            entry[3] += credit.words_deleted
            entry[4] += origin == u.origin
            entry[5] = u.received_ms
    return [(d, o, day, r, *counts) for (d, o, day, r), counts in sorted(totals.items())]


def _client_rows(batch: list[PendingUpdate]) -> list[_Row]:
    return sorted(((u.document_id, client, u.origin)
                   for u in batch for client in u.claimed_clients),
                  key=lambda row: (row[0], row[1]))


def _sqlite_values(rows: list[_Row]) -> list[_Row]:
    """`rows` as SQLite parameters: a day as SQLAlchemy's `Date` keeps it there, its ISO
    form."""
    return [tuple(value.isoformat() if isinstance(value, date) else value for value in row)
            for row in rows]


def _columns(prefix: str, rows: list[_Row], columns: tuple[str, ...]) -> dict[str, list[Any]]:
    """`rows` as one array per column, the parameters `_ONE_STATEMENT` names `prefix_column`."""
    return {f"{prefix}_{column}": [row[index] for row in rows]
            for index, column in enumerate(columns)}


# Array parameters' PostgreSQL types, by the columns' Python types. Strings have no length: a
# cast to varchar(n) would cut a longer value silently, where the column refuses it.
_ARRAY_TYPES: dict[type, str] = {str: "varchar", int: "bigint", bytes: "bytea", date: "date"}


def _insert_unnested(prefix: str, table: Table, columns: tuple[str, ...]) -> str:
    """Insert into `table` the rows of one array parameter per column (`_columns`), in the
    arrays' order."""
    arrays = ", ".join(f"CAST(:{prefix}_{name} AS {_ARRAY_TYPES[table.c[name].type.python_type]}[])"
                       for name in columns)
    names = ", ".join(columns)
    return (f"INSERT INTO {table.name} ({names}) SELECT {names} FROM unnest({arrays}) "
            f"WITH ORDINALITY AS batch_rows({names}, position) ORDER BY position")


def _insert_values(table: Table, columns: tuple[str, ...]) -> str:
    """Insert into `table` one row of positional parameters (SQLite's `?`), in `columns`'
    order: executed for many rows at once."""
    return (f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


def _adding(table: Table, key: tuple[str, ...], sums: tuple[str, ...]) -> str:
    """The conflict clause of a counter row: add `sums` to the row already there, set its
    `last_at`."""
    added = ", ".join(f"{c} = {table.name}.{c} + EXCLUDED.{c}" for c in sums)
    return f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}, last_at = EXCLUDED.last_at"


_CONTRIBUTION_KEY = ("document_id", "origin")
_ATTRIBUTION_KEY = ("document_id", "origin", "root", "day")

# PostgreSQL runs the data-modifying parts of one statement in one snapshot, as one
# transaction, and in a fixed order: two writers still lock counter rows table by table, each
# table's rows in key order.
_ONE_STATEMENT = text(f"""
WITH updates AS ({_insert_unnested("u", doc_updates, _UPDATE_COLUMNS)}),
contributions AS ({_insert_unnested("c", doc_contributions, _CONTRIBUTION_COLUMNS)}
                  {_adding(doc_contributions, _CONTRIBUTION_KEY, _CONTRIBUTION_SUMS)}),
attribution AS ({_insert_unnested("a", doc_attribution, _ATTRIBUTION_COLUMNS)}
                {_adding(doc_attribution, _ATTRIBUTION_KEY, _ATTRIBUTION_SUMS)}),
clients AS ({_insert_unnested("k", doc_clients, _CLIENT_COLUMNS)} ON CONFLICT DO NOTHING)
SELECT 1
""")

# SQLite: one insert per table that gets rows, all in one transaction, as plain SQL: through
# SQLAlchemy's compiled statements each insert spent more in building its parameters and
# cache key than SQLite spent executing it.
_SQLITE_FLUSH: tuple[tuple[str, Callable[[list[PendingUpdate]], list[_Row]]], ...] = (
    (_insert_values(doc_updates, _UPDATE_COLUMNS), _update_rows),
    (_insert_values(doc_contributions, _CONTRIBUTION_COLUMNS)
     + _adding(doc_contributions, _CONTRIBUTION_KEY, _CONTRIBUTION_SUMS), _contribution_rows),
    (_insert_values(doc_attribution, _ATTRIBUTION_COLUMNS)
     + _adding(doc_attribution, _ATTRIBUTION_KEY, _ATTRIBUTION_SUMS), _attribution_rows),
    (_insert_values(doc_clients, _CLIENT_COLUMNS) + " ON CONFLICT DO NOTHING", _client_rows),
)


def _sqlite_flush(batch: list[PendingUpdate]) -> list[tuple[str, list[_Row]]]:
    """The batch's inserts on SQLite, with their rows; only those that have rows."""
    inserts = []
    for sql, rows_of in _SQLITE_FLUSH:
        if rows := rows_of(batch):
            inserts.append((sql, _sqlite_values(rows)))
    return inserts


def _write_synced(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _report_writer_death(task: asyncio.Task[None]) -> None:
    """Say so at once if the writer ends with an error: nothing would be committed after it,
    and the error would otherwise surface only at shutdown, or never after a kill."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.critical("the update writer stopped: %s; nothing more is committed", describe(exc),
                     exc_info=exc, extra={"event": "store.writer_died"})


class UpdateStore:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        log_engine: AsyncEngine | None = None,
        thread_engine: Engine | None = None,
        flush_interval: float,
        max_batch: int,
        min_gap: float = 0.0,
        compaction_threshold: int,
        rejected_dir: Path,
        report_failures_after: float = REPORT_FIRST_AFTER_S,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        """`engine` is the writer's; `log_engine` (by default the same) serves the log's reads
        and compactions, so that a server gives its writer a connection of its own, which
        no burst of other work can keep it waiting for (a held-back commit holds back every
        relay). `thread_engine`: a synchronous engine on the same database (SQLite, in
        process): each commit then runs whole on the writer's own thread, one hop from the
        event loop (`app.db.create_sqlite_thread_engine`). `min_gap`: the least time (s)
        from the end of one commit to the start of the next while updates keep coming, so
        that each commit carries more of them. `rejected_dir`: where an update
        goes that the database refuses even in its quarantine table (`doc_updates_rejected`).
        `clock_ms`: the time an update is received (Unix ms), which dates its attribution;
        the server passes its own (test) clock."""
        self._engine = engine
        self._thread_engine = thread_engine
        self._thread = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="widen-writer")
                        if thread_engine is not None else None)
        self._clock_ms = clock_ms
        self._rejected_dir = rejected_dir
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._min_gap = min_gap
        self._last_commit_end = -math.inf
        self._queue: deque[PendingUpdate] = deque()
        self._next_seq = 1
        self._durable_seq = 0
        self._has_work = asyncio.Event()
        # Cuts the flush interval short: at shutdown, when someone waits for durability, or
        # when a full batch is already queued.
        self._flush_now = asyncio.Event()
        self._durable_changed = asyncio.Condition()
        # The read side, told of every commit so it compacts long logs.
        self.log = UpdateLog(log_engine or engine, compaction_threshold=compaction_threshold)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._streak = FailureStreak(log, "update writer",
                                     first_report_after=report_failures_after)
        self._backlog_full_since: float | None = None
        self._committed_listeners: list[Callable[[set[str]], None]] = []
        self.failures = 0
        self.batches_committed = 0
        self.updates_committed = 0
        self.updates_set_aside = 0
        # Receive loops waiting in `drained` right now.
        self.paused = 0
        # Called once `relayable_seq` moves (`when_relayable`).
        self._relay_waiters: list[Callable[[], None]] = []

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def backlog_limit(self) -> int:
        """Queued updates at which incoming messages wait for the writer."""
        return self._max_batch * _BACKLOG_BATCHES

    @property
    def failing_since(self) -> float | None:
        """Since when (Unix time) commits have been failing, or None while they succeed."""
        return self._streak.failing_since

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="widen-update-writer")
        self._task.add_done_callback(_report_writer_death)

    def on_committed(self, listener: Callable[[set[str]], None]) -> None:
        """Call `listener` with the ids of the documents each commit wrote to (for what is
        derived from their content, such as a search index). It runs on the writer's task,
        so it must return at once and never raise."""
        self._committed_listeners.append(listener)

    async def stop(self) -> None:
        """Commit everything still queued, then end the writer: a clean shutdown loses nothing."""
        self._stopping = True
        self._has_work.set()
        self._flush_now.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        await self.log.stop()

    async def load(self, document_id: str) -> StoredDocument:
        """What a room loads (the log's side of the seam rooms talk to)."""
        return await self.log.load(document_id)

    def forget(self, document_id: str) -> None:
        self.log.forget(document_id)

    def append(self, document_id: str, origin: str | None, data: bytes,
               claimed_clients: tuple[int, ...] = (), credits: Credits | None = None) -> int:
        """Queue an update for the next group commit; return its sequence number.
        `credits`: its attribution, committed with it."""
        if self._stopping and self._task is None:
            raise RuntimeError("update store is stopped")
        seq = self._next_seq
        self._next_seq += 1
        self._queue.append(
            PendingUpdate(seq, document_id, origin, data, self._clock_ms(),
                          claimed_clients, credits)
        )
        self._has_work.set()
        if len(self._queue) >= self._max_batch:
            self._flush_now.set()
        return seq

    @property
    def relayable_seq(self) -> int:
        """Updates up to this sequence number may be shown to other clients.

        Normally the committed ones: a client then never holds an edit that a crash can still
        take from the database, so its resync after a restart never carries another user's
        lost edit, which the client-id binding would have to refuse (the same bytes are how a
        member would write as someone else). While commits fail, everything queued: editing
        together goes on in memory through an outage, as far as the backlog's bound."""
        return self._next_seq - 1 if self._streak.failing else self._durable_seq

    def when_relayable(self, callback: Callable[[], None]) -> None:
        """Call `callback` once, when `relayable_seq` has moved (a commit, or commits
        starting to fail), and commit without waiting out the flush interval: someone is
        waiting to see the edit."""
        self._relay_waiters.append(callback)
        self._flush_now.set()

    @property
    def saturated(self) -> bool:
        """True when the writer is this far behind; readers should wait (`drained`)."""
        return len(self._queue) >= self.backlog_limit

    async def drained(self) -> None:
        """Wait until the backlog is back under the limit: backpressure on fast senders, so
        memory and the window of not-yet-durable edits stay bounded. Nothing is dropped: the
        caller's next messages simply wait in its socket (and that client's TCP window)."""
        if not self.saturated:
            return
        self._flush_now.set()
        if self._backlog_full_since is None:
            # Once until the backlog is empty again, not at every batch of a busy writer.
            self._backlog_full_since = time.monotonic()
            log.warning("update backlog at its bound (%d updates); incoming edits wait for "
                        "the writer", len(self._queue),
                        extra={"event": "store.backlog_full", "backlog": len(self._queue),
                               "limit": self.backlog_limit})
        self.paused += 1
        try:
            async with self._durable_changed:
                await self._durable_changed.wait_for(lambda: not self.saturated)
        finally:
            self.paused -= 1

    async def wait_durable(self, seq: int) -> None:
        if seq > self._durable_seq:
            self._flush_now.set()
        async with self._durable_changed:
            await self._durable_changed.wait_for(lambda: self._durable_seq >= seq)

    async def _run(self) -> None:
        while True:
            await self._has_work.wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_interval):
                    await self._flush_now.wait()
            self._flush_now.clear()
            while self._queue:
                await self._gather_more()
                batch = [self._queue[i] for i in range(min(len(self._queue), self._max_batch))]
                committed = await self._write(batch)
                self._last_commit_end = time.monotonic()
                for _ in batch:
                    self._queue.popleft()
                await self._mark_durable(batch[-1].seq)
                if committed:
                    written = {u.document_id for u in committed}
                    for listener in self._committed_listeners:
                        listener(written)
                await self.log.grew([u.document_id for u in committed])
            if self._backlog_full_since is not None:
                log.info("update backlog drained, %.1f s after it reached its bound",
                         time.monotonic() - self._backlog_full_since,
                         extra={"event": "store.backlog_drained"})
                self._backlog_full_since = None
            self._has_work.clear()
            if self._stopping:
                return

    async def _gather_more(self) -> None:
        """Right after a commit, wait out the rest of `min_gap` for more updates to join the
        next one (unless a batch is full or the store is stopping)."""
        wait = self._last_commit_end + self._min_gap - time.monotonic()
        if wait > 0 and len(self._queue) < self._max_batch and not self._stopping:
            await asyncio.sleep(wait)

    async def _write(self, batch: list[PendingUpdate]) -> list[PendingUpdate]:
        """Commit the batch, or as much of it as the database accepts; return what committed.

        Returns only when every update is either committed or set aside: while the database
        is away the same part is retried (an acknowledged edit is never dropped); when it
        refuses a part for good, the part is split in halves, down to the single refused
        updates, which are set aside (`_set_aside`) so everything else, in order, commits.
        """
        committed: list[PendingUpdate] = []
        parts = [batch]
        while parts:
            part = parts.pop(0)
            refusal = await self._until_done(partial(self._commit, part))
            if refusal is None:
                self.batches_committed += 1
                self.updates_committed += len(part)
                committed.extend(part)
            elif len(part) > 1:
                if part is batch:
                    log.warning("the database refused a batch of %d updates (%s); splitting "
                                "it to set the refused ones aside", len(part), describe(refusal),
                                extra={"event": "store.batch_refused", "batch": len(part),
                                       "error": describe(refusal)})
                half = len(part) // 2
                parts[:0] = [part[:half], part[half:]]
            else:
                await self._set_aside(part[0], refusal)
        return committed

    async def _until_done(self, work: Callable[[], Awaitable[None]]) -> Exception | None:
        """Run `work` until it succeeds (None) or the database refuses it for good (the
        refusal); while the database is unavailable, wait and retry."""
        while True:
            try:
                await work()
            except Exception as exc:
                if classify(exc) is Fault.REFUSED:
                    self._streak.succeeded(backlog=len(self._queue))  # it answered, at least
                    return exc
                await self._wait_for_storage(exc)
                continue
            self._streak.succeeded(backlog=len(self._queue))
            return None

    async def _set_aside(self, update: PendingUpdate, refusal: Exception) -> None:
        """Keep an update the database refuses in the quarantine table (its Yjs client ids
        bound as they would have been), or in a file if the database refuses even that, and
        say so: document, sender and size, never the content."""
        reason = describe(refusal)
        kept_in = doc_updates_rejected.name
        again = await self._until_done(partial(self._insert_rejected, update, reason))
        if again is not None:
            kept_in = str(await self._write_rejected_file(update, f"{reason}; {describe(again)}"))
            if update.claimed_clients:
                unbound = await self._until_done(partial(self._bind_only, update))
                if unbound is not None:
                    log.error("client ids of a set-aside update could not be bound (%s)",
                              describe(unbound),
                              extra={"event": "store.bind_refused",
                                     "document_id": update.document_id,
                                     "error": describe(unbound)})
        self.updates_set_aside += 1
        log.error("update refused by the database and set aside (%s, %d bytes)", reason,
                  len(update.data),
                  extra={"event": "store.update_set_aside", "document_id": update.document_id,
                         "origin": update.origin, "bytes": len(update.data),
                         "received_ms": update.received_ms, "error": reason,
                         "kept_in": kept_in})

    async def _insert_rejected(self, update: PendingUpdate, reason: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(doc_updates_rejected).values(
                document_id=update.document_id, origin=update.origin,
                created_at=update.received_ms, rejected_at=int(time.time() * 1000),
                reason=reason, data=update.data))
            await self._bind_clients(conn, [update])

    async def _bind_only(self, update: PendingUpdate) -> None:
        async with self._engine.begin() as conn:
            await self._bind_clients(conn, [update])

    async def _write_rejected_file(self, update: PendingUpdate, reason: str) -> Path:
        """The last resort: a JSON file under the rejected directory, written and synced
        before the update counts as set aside. Retried while the disk cannot take it."""
        name = re.sub(r"[^A-Za-z0-9-]", "_", update.document_id)
        path = self._rejected_dir / f"{name}-{update.received_ms}-{update.seq}.json"
        record = json.dumps({
            "document_id": update.document_id, "origin": update.origin,
            "received_ms": update.received_ms, "reason": reason,
            "claimed_clients": list(update.claimed_clients),
            "data_base64": base64.b64encode(update.data).decode(),
        })
        while True:
            try:
                await asyncio.to_thread(_write_synced, path, record)
                return path
            except OSError as exc:
                await self._wait_for_storage(exc)

    async def _wait_for_storage(self, exc: Exception) -> None:
        """Report a failed attempt (as part of its streak) and back off before the next."""
        self.failures += 1
        self._streak.failed(exc, backlog=len(self._queue))
        self._relayable_moved()
        attempt = self._streak.attempts
        await asyncio.sleep(_RETRY_DELAYS_SECONDS[min(attempt, len(_RETRY_DELAYS_SECONDS)) - 1])

    async def _commit(self, batch: list[PendingUpdate]) -> None:
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._thread, self._commit_on_thread, batch)
            return
        if self._engine.dialect.name == "postgresql":
            await self._commit_in_one_statement(batch)
            return
        async with self._engine.begin() as conn:
            for sql, rows in _sqlite_flush(batch):
                await conn.exec_driver_sql(sql, rows)

    def _commit_on_thread(self, batch: list[PendingUpdate]) -> None:
        assert self._thread_engine is not None
        with self._thread_engine.begin() as conn:
            for sql, rows in _sqlite_flush(batch):
                conn.exec_driver_sql(sql, rows)

    async def _commit_in_one_statement(self, batch: list[PendingUpdate]) -> None:
        """PostgreSQL: the batch's rows as arrays, in one statement (`_ONE_STATEMENT`), which
        is a transaction of its own. Through BEGIN, four inserts and COMMIT, a commit cost
        six round trips, and with two processes their writers took a sixth of each loop."""
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(_ONE_STATEMENT, {
                **_columns("u", _update_rows(batch), _UPDATE_COLUMNS),
                **_columns("c", _contribution_rows(batch), _CONTRIBUTION_COLUMNS),
                **_columns("a", _attribution_rows(batch), _ATTRIBUTION_COLUMNS),
                **_columns("k", _client_rows(batch), _CLIENT_COLUMNS),
            })

    async def _bind_clients(self, conn: AsyncConnection, batch: list[PendingUpdate]) -> None:
        if rows := _client_rows(batch):
            await conn.execute(_client_binding(conn.dialect.name),
                               [dict(zip(_CLIENT_COLUMNS, row, strict=True)) for row in rows])

    async def _mark_durable(self, seq: int) -> None:
        async with self._durable_changed:
            self._durable_seq = seq
            self._durable_changed.notify_all()
        self._relayable_moved()

    def _relayable_moved(self) -> None:
        waiters, self._relay_waiters = self._relay_waiters, []
        for waiter in waiters:
            waiter()
