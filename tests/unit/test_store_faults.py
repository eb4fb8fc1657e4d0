"""The update writer under storage faults, in process on real SQLite files (the fast tier).

A lock another connection holds, a trigger that refuses a row: real faults of a real database,
so what is tested is how the writer meets them, not a model of them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.store import UpdateStore


@pytest.fixture
async def store(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[UpdateStore]:
    store = UpdateStore(engine, flush_interval=0.01, max_batch=4, compaction_threshold=10_000,
                        rejected_dir=tmp_path / "rejected")
    store.start()
    yield store
    await store.stop()


async def test_a_failure_streak_logs_one_traceback_then_one_line_when_it_ends(
    store: UpdateStore, sqlite_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another connection holds the database's write lock for 1.5 s: the writer reports the
    streak once, with the exception, and once more when it is over, not on every retry."""
    caplog.set_level(logging.INFO, logger="widen.store")
    locker = sqlite3.connect(sqlite_path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        seq = 0
        for n in range(3):
            seq = store.append("doc", "alice", f"update {n}".encode())
        await asyncio.sleep(1.5)
        assert store.pending == 3, "nothing can commit while the lock is held"
        locker.execute("ROLLBACK")
    finally:
        locker.close()
    async with asyncio.timeout(10):
        await store.wait_durable(seq)
    records = [r for r in caplog.records if r.name == "widen.store"]
    assert [getattr(r, "event", None) for r in records] == [
        "store.commit_failing", "store.recovered"], [r.getMessage() for r in records]
    assert records[0].exc_info is not None and "locked" in str(records[0].exc_info[1])
    assert records[1].exc_info is None and store.updates_committed == 3


MARKER = b"REFUSE-ME"


def _refuse_marker(path: Path, table: str = "doc_updates") -> None:
    """A trigger that refuses, for good, any row of `table` holding the marker bytes."""
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                     f"WHEN instr(NEW.data, X'{MARKER.hex()}') > 0 "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END")


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


async def test_refused_updates_are_found_by_halving_and_every_other_one_commits_in_order(
    engine: AsyncEngine, sqlite_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two refused updates in a batch of eight: the batch is halved down to them, the six
    others commit in the order they came, the two are kept in the quarantine table, and the
    log names their document and size, never their bytes."""
    caplog.set_level(logging.INFO, logger="widen.store")
    _refuse_marker(sqlite_path)
    store = UpdateStore(engine, flush_interval=0.2, max_batch=8, compaction_threshold=10_000,
                        rejected_dir=tmp_path / "rejected")
    store.start()
    updates = [b"update %d" % n + (MARKER if n in (2, 6) else b"") for n in range(8)]
    for n, data in enumerate(updates):
        seq = store.append("doc", f"user{n}", data, claimed_clients=(n,))
    async with asyncio.timeout(10):
        await store.wait_durable(seq)
    await store.stop()

    kept = [updates[n] for n in (0, 1, 3, 4, 5, 7)]
    assert [r[0] for r in _rows(sqlite_path, "SELECT data FROM doc_updates ORDER BY id")] == kept
    assert _rows(sqlite_path, "SELECT document_id, origin, data FROM doc_updates_rejected "
                              "ORDER BY id") == [("doc", "user2", updates[2]),
                                                 ("doc", "user6", updates[6])]
    # The refused ones' client ids are bound to their senders all the same.
    assert _rows(sqlite_path, "SELECT client_id, origin FROM doc_clients ORDER BY client_id") == [
        (n, f"user{n}") for n in range(8)]
    # Halving [0..7]: [0,1] [2] [3] [4,5] [6] [7]; four commits, two set aside.
    assert (store.batches_committed, store.updates_committed, store.updates_set_aside) == (4, 6, 2)
    assert store.failures == 0, "a refusal is not a storage failure to wait out"

    records = [r for r in caplog.records if r.name == "widen.store"]
    assert [getattr(r, "event", None) for r in records] == [
        "store.batch_refused", "store.update_set_aside", "store.update_set_aside"]
    fields = ("levelname", "document_id", "bytes", "kept_in")
    assert [tuple(getattr(r, name, None) for name in fields) for r in records[1:]] == [
        ("ERROR", "doc", len(updates[2]), "doc_updates_rejected"),
        ("ERROR", "doc", len(updates[6]), "doc_updates_rejected")]
    for record in records:
        assert MARKER.decode() not in record.getMessage()
        assert not any(MARKER.decode() in str(v) for v in vars(record).values())


async def test_an_update_refused_by_the_quarantine_table_too_is_kept_in_a_file(
    engine: AsyncEngine, sqlite_path: Path, tmp_path: Path
) -> None:
    """When the database refuses the update in its quarantine table as well (a value too big
    for it, say), the update is written to a file, synced, before it counts as set aside."""
    _refuse_marker(sqlite_path)
    _refuse_marker(sqlite_path, "doc_updates_rejected")
    rejected_dir = tmp_path / "rejected"
    store = UpdateStore(engine, flush_interval=0.01, max_batch=4, compaction_threshold=10_000,
                        rejected_dir=rejected_dir)
    store.start()
    seq = store.append("doc-1", "alice", b"poisoned " + MARKER, claimed_clients=(42,))
    async with asyncio.timeout(10):
        await store.wait_durable(seq)
    later = store.append("doc-1", "alice", b"fine")
    async with asyncio.timeout(10):
        await store.wait_durable(later)
    await store.stop()

    files = sorted(rejected_dir.iterdir())
    assert len(files) == 1 and files[0].name.startswith("doc-1-")
    record = json.loads(files[0].read_text())
    assert (record["document_id"], record["origin"], base64.b64decode(record["data_base64"]),
            record["claimed_clients"]) == ("doc-1", "alice", b"poisoned " + MARKER, [42])
    assert "refused by the test trigger" in record["reason"]
    assert _rows(sqlite_path, "SELECT client_id, origin FROM doc_clients") == [(42, "alice")]
    assert _rows(sqlite_path, "SELECT data FROM doc_updates") == [(b"fine",)]
    assert store.updates_set_aside == 1


async def test_at_the_backlog_bound_writers_wait_until_storage_returns(
    engine: AsyncEngine, sqlite_path: Path, tmp_path: Path
) -> None:
    """While another connection holds the write lock the backlog fills to its bound (4 batches)
    and `drained` holds its caller; once the lock goes, everything commits and it returns."""
    store = UpdateStore(engine, flush_interval=0.01, max_batch=2, compaction_threshold=10_000,
                        rejected_dir=tmp_path / "rejected")
    store.start()
    locker = sqlite3.connect(sqlite_path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        for n in range(store.backlog_limit):
            seq = store.append("doc", "alice", b"update %d" % n)
        assert store.saturated and store.backlog_limit == 8
        waiter = asyncio.create_task(store.drained())
        await asyncio.sleep(0.5)
        assert not waiter.done() and store.paused == 1 and store.failing_since is not None
        locker.execute("ROLLBACK")
    finally:
        locker.close()
    async with asyncio.timeout(10):
        await waiter
        await store.wait_durable(seq)
    assert (store.paused, store.pending, store.updates_committed) == (0, 0, 8)
    assert store.failing_since is None
    await store.stop()
