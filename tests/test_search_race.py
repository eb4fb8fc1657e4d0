"""Search while a document is re-indexed (`app.search.finder.find`), on a real database.

How it fails: `find` ranks entries, then reads the ranked ones. On PostgreSQL each statement
sees what was committed when it began, so a re-index committed in between (its entries
deleted and written again, under new ids) left nothing to read, and the search found nothing
(seen once in CI, right after a restart's catch-up). SQLite keeps one snapshot for the
session's reads, so there it finds the old entries either way.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import create_async_engine

from app import models
from app.db import create_sessionmaker
from app.migrate import upgrade
from app.search.finder import find
from tests.support.rows import owned_document


async def test_a_document_re_indexed_between_ranking_and_reading_is_still_found(
    database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, database_url)
    engine = create_async_engine(database_url)
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        document = await owned_document(session, "Bestiary")
        user_id, document_id = document.owner_id, document.id

    def entry() -> models.SearchEntry:
        return models.SearchEntry(document_id=document_id, section_id=None, title="Bestiary",
                                  section_title="", body="the gravelock sleeps")

    async with sessions() as session, session.begin():
        session.add(entry())
    reindex = create_async_engine(database_url)
    reindexed: list[bool] = []

    async def re_index() -> None:
        async with create_sessionmaker(reindex)() as other, other.begin():
            await other.execute(delete(models.SearchEntry)
                                .where(models.SearchEntry.document_id == document_id))
            other.add(entry())

    ranked_then_read: list[Any] = []

    def after_execute(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        ranked_then_read.append(statement)

    event.listen(engine.sync_engine, "after_cursor_execute", after_execute)
    try:
        async with sessions() as session:
            # Rank first, as find does, then let the re-index commit before the read.
            original = session.execute

            async def execute(*args: Any, **kwargs: Any) -> Any:
                result = await original(*args, **kwargs)
                if not reindexed and any("row_number" in s for s in ranked_then_read):
                    reindexed.append(True)
                    await re_index()
                return result

            session.execute = execute  # type: ignore[method-assign]
            hits = await find(session, user_id, ["gravelock"], 10)
    finally:
        await reindex.dispose()
        await engine.dispose()
    assert reindexed == [True]
    assert [hit.document_id for hit in hits] == [document_id]
