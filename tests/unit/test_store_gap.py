"""The writer's least gap between commits: under load it gathers more edits into each commit;
an edit arriving while the writer is idle commits at once."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.store import UpdateStore
from tests.support.stall import keystrokes

GAP_SECONDS = 0.4


async def test_an_idle_writer_commits_at_once_and_a_busy_one_gathers_what_comes_meanwhile(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store = UpdateStore(engine, flush_interval=0.01, max_batch=100, min_gap=GAP_SECONDS,
                        compaction_threshold=10_000, rejected_dir=tmp_path)
    store.start()
    updates, _ = keystrokes(6)
    try:
        started = time.monotonic()
        await store.wait_durable(store.append("gap", "writer", updates[0]))
        idle_commit = time.monotonic() - started
        # Right after that commit: these wait out the gap, then commit together.
        started = time.monotonic()
        seqs = [store.append("gap", "writer", update) for update in updates[1:]]
        await store.wait_durable(seqs[-1])
        busy_commit = time.monotonic() - started
    finally:
        await store.stop()
    assert idle_commit < GAP_SECONDS / 2, f"an idle writer took {idle_commit:.2f} s"
    assert busy_commit > GAP_SECONDS / 2, f"a busy writer committed after {busy_commit:.2f} s"
    assert store.batches_committed == 2
    assert len(await store.log.read("gap")) == 6
