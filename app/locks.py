"""Row locks that work the same on both back ends."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.timeutil import utcnow


async def lock_document(session: AsyncSession, document_id: str) -> None:
    """Serialise changes to one document's structure until this transaction ends.

    A write is the lock both back ends share: it takes the document row's lock on PostgreSQL
    and the database write lock on SQLite (where `SELECT ... FOR UPDATE` does not exist), so a
    concurrent change of the same kind waits here, then reads what the first one committed.
    Touching `updated_at` is also true: the document's structure is about to change."""
    await session.execute(
        update(models.Document).where(models.Document.id == document_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session="fetch"))
