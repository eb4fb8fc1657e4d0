"""The update writer under storage faults, in process on real SQLite files (the fast tier).

A lock another connection holds, a full file, a trigger that refuses a row: real faults of a
real database, so what is tested is how the writer meets them, not a model of them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.store import UpdateStore


@pytest.fixture
async def store(engine: AsyncEngine) -> AsyncIterator[UpdateStore]:
    store = UpdateStore(engine, flush_interval=0.01, max_batch=4, compaction_threshold=10_000)
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
