"""Compaction of a long update log, in process on a real SQLite file (the fast tier).

Rebuilding a document from its log takes seconds for a long one. On the event loop that stalled
every connection of the process, long enough for a refused message's close to go out before
the answers owed for the messages before it (the long property fuzz found it as valid messages
"refused" for a neighbour's fault).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import KIND_SNAPSHOT, doc_updates
from crdt.store import UpdateStore
from tests.support.stall import keystrokes, longest_stall


@pytest.fixture
async def store(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[UpdateStore]:
    store = UpdateStore(engine, flush_interval=0.01, max_batch=500, compaction_threshold=10**9,
                        rejected_dir=tmp_path / "rejected")
    store.start()
    yield store
    await store.stop()


@pytest.mark.timing
async def test_compacting_a_long_log_does_not_stall_the_event_loop(
    store: UpdateStore, engine: AsyncEngine
) -> None:
    updates, expected = keystrokes(50_000, root="notes")
    seq = 0
    for update in updates:
        seq = store.append("doc", "alice", update)
    async with asyncio.timeout(60):
        await store.wait_durable(seq)

    took, stall = await longest_stall(store.log.compact("doc"))

    assert took > 0.3, f"compaction took {took:.2f} s: too quick to show a stall"
    # Reading 50,000 rows still takes the loop a few tens of milliseconds; the rebuild none.
    assert stall < took / 4, (f"the event loop stalled {stall:.3f} s during a {took:.2f} s "
                              "compaction")
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(doc_updates.c.kind, doc_updates.c.data)
            .where(doc_updates.c.document_id == "doc"))).all()
        assert await conn.scalar(select(func.count()).select_from(doc_updates)) == 1
    assert [row.kind for row in rows] == [KIND_SNAPSHOT]
    reopened: Doc[Any] = Doc()
    reopened.apply_update(rows[0].data)
    assert str(reopened.get("notes", type=Text)) == expected
