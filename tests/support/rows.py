"""Rows written straight to the database, for tests of what reads them: through the models (no
server, no argon2 hash: the password is never checked), or into a document's update log as an
older server would have written them."""

from __future__ import annotations

import time

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app import models
from crdt.schema import KIND_UPDATE, doc_updates


async def owned_document(session: AsyncSession, title: str) -> models.Document:
    """A document of a new user of its own, flushed (its id and `owner_id` are set)."""
    user = models.User(email=f"{models.new_id()}@example.org", name="Owner",
                       password_hash="x")
    session.add(user)
    await session.flush()
    document = models.Document(owner_id=user.id, title=title)
    session.add(document)
    await session.flush()
    return document


async def store_update_rows(database_url: str, document_id: str, rows: list[bytes],
                            origin: str | None) -> None:
    """Append update rows to a document's log, as an older server would have (before a bound
    existed), behind any running server's back."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(doc_updates), [
                {"document_id": document_id, "origin": origin, "kind": KIND_UPDATE,
                 "created_at": int(time.time() * 1000), "data": row} for row in rows])
    finally:
        await engine.dispose()
