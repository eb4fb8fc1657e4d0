"""Rooms loading at once read their logs together (`crdt.batching`): one batch, one connection,
and each room still gets exactly its own rows, in order, and its own client owners. How it
fails: rows grouped under the wrong document, or out of order, change the texts below; loads
that each take a connection (two, as they did) are counted at the pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crdt.store import UpdateStore

DOCUMENTS = 40


@pytest.fixture
async def reading_engine(sqlite_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{sqlite_path}")
    yield engine
    await engine.dispose()


def _typed(words: list[str], client_id: int) -> list[bytes]:
    """One update per word, typed by one Yjs client."""
    doc: Doc[Text] = Doc(client_id=client_id)
    text = doc.get("body", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for word in words:
        text += word
    return updates


async def test_documents_loading_at_once_each_get_their_own_log(
    engine: AsyncEngine, reading_engine: AsyncEngine, tmp_path: Path
) -> None:
    writer = UpdateStore(engine, flush_interval=0.01, max_batch=500, compaction_threshold=10**9,
                         rejected_dir=tmp_path / "rejected")
    writer.start()
    try:
        last = 0
        for n in range(DOCUMENTS):
            for update in _typed([f"doc{n}", " says", f" {n}"], client_id=1000 + n):
                last = writer.append(f"doc-{n}", f"user-{n}", update, claimed_clients=(1000 + n,))
        await writer.wait_durable(last)
    finally:
        await writer.stop()

    reader = UpdateStore(reading_engine, flush_interval=0.01, max_batch=500,
                         compaction_threshold=10**9, rejected_dir=tmp_path / "rejected")
    checkouts: list[object] = []
    event.listen(reading_engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    loaded = await asyncio.gather(*(reader.load(f"doc-{n}") for n in range(DOCUMENTS)),
                                  reader.load("never-written"))
    assert len(checkouts) == 1, f"{len(checkouts)} connections for {DOCUMENTS + 1} loads"
    for n, stored in enumerate(loaded[:DOCUMENTS]):
        doc: Doc[Text] = Doc()
        for row in stored.updates:
            doc.apply_update(row)
        assert str(doc.get("body", type=Text)) == f"doc{n} says {n}"
        assert stored.client_origins == {1000 + n: f"user-{n}"}
    assert (loaded[-1].updates, loaded[-1].client_origins) == ([], {})
    # Search's staleness mark for many documents at once: each its own log's last row.
    revisions = {f"doc-{n}": (await reader.log.revision(f"doc-{n}"))[0] for n in range(DOCUMENTS)}
    assert len(set(revisions.values())) == DOCUMENTS
    assert await reader.log.last_rows([*revisions, "never-written"]) == {
        **revisions, "never-written": 0}
