"""The trash: a deleted document waits there for its owner, then is purged for good.

Deleting hides a document from everyone at once (`app.permissions` answers as for a document
that does not exist) but keeps it whole: sections, text, grants, invitations and its log. So
a restore brings it back exactly as it was, members included. Once the trash period has passed
it is gone: not listed, not restorable, and the purge deletes its rows and its update log in
one transaction.

Each step is one conditional statement (as in `app.sharing`): the database re-checks the
condition under its write lock, so of concurrent deletes, restores and purges of one document
exactly one takes each step, and the others find it taken.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import models
from app.timeutil import utcnow
from crdt.update_log import UpdateLog

log = logging.getLogger("widen.trash")


def purge_at(deleted_at: datetime, keep: timedelta) -> datetime:
    return deleted_at + keep


async def move_to_trash(session: AsyncSession, document_id: str, *, now: datetime) -> bool:
    """Hide a live document from everyone but its owner's trash; False if it was not live
    (a concurrent delete took it first)."""
    moved = await session.execute(
        update(models.Document)
        .where(models.Document.id == document_id, models.Document.deleted_at.is_(None))
        .values(deleted_at=now)
        .returning(models.Document.id)
        .execution_options(synchronize_session="fetch"))
    return moved.first() is not None


async def take_out_of_trash(session: AsyncSession, document_id: str, *, now: datetime,
                            keep: timedelta) -> bool:
    """Bring a document back from the trash while its period lasts; False if it was not
    there any more (restored or purged meanwhile, or past its period)."""
    restored = await session.execute(
        update(models.Document)
        .where(models.Document.id == document_id, models.Document.deleted_at.is_not(None),
               models.Document.deleted_at > now - keep)
        .values(deleted_at=None, updated_at=now)
        .returning(models.Document.id)
        .execution_options(synchronize_session="fetch"))
    return restored.first() is not None


async def trashed_documents(session: AsyncSession, owner_id: str, *, now: datetime,
                            keep: timedelta) -> list[models.Document]:
    """The owner's trash, most recently deleted first; a document past its period is gone
    even if the purge has not come round to it yet."""
    return list(await session.scalars(
        select(models.Document)
        .where(models.Document.owner_id == owner_id, models.Document.deleted_at.is_not(None),
               models.Document.deleted_at > now - keep)
        .order_by(models.Document.deleted_at.desc())))


async def trashed_document(session: AsyncSession, owner_id: str, document_id: str, *,
                           now: datetime, keep: timedelta) -> models.Document | None:
    return await session.scalar(
        select(models.Document)
        .where(models.Document.id == document_id, models.Document.owner_id == owner_id,
               models.Document.deleted_at.is_not(None),
               models.Document.deleted_at > now - keep))


async def purge_expired(sessions: async_sessionmaker[AsyncSession], store: UpdateLog, *,
                        now: datetime, keep: timedelta) -> list[str]:
    """Delete for good every document whose trash period ended by `now`: its rows (the
    database cascades to sections, grants, invitations, comments and the sharing log) and
    its update log, one document per transaction. Returns the ids purged."""
    async with sessions() as session:
        expired = list(await session.scalars(
            select(models.Document.id)
            .where(models.Document.deleted_at.is_not(None),
                   models.Document.deleted_at <= now - keep)))
    purged: list[str] = []
    for document_id in expired:
        async with sessions.begin() as session:
            gone = await session.execute(
                delete(models.Document)
                .where(models.Document.id == document_id,
                       models.Document.deleted_at.is_not(None),
                       models.Document.deleted_at <= now - keep)
                .returning(models.Document.id)
                .execution_options(synchronize_session=False))
            if gone.first() is None:
                continue  # restored at the last moment (a restore that won the race)
            await store.delete_document(await session.connection(), document_id)
        purged.append(document_id)
        log.info("document purged from the trash",
                 extra={"event": "trash.purged", "document_id": document_id})
    return purged


class TrashPurger:
    """Runs `purge_expired` every `interval` seconds for as long as the server runs."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], store: UpdateLog, *,
                 keep: timedelta, interval: float) -> None:
        self._sessions = sessions
        self._store = store
        self._keep = keep
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="widen-trash-purge")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await purge_expired(self._sessions, self._store, now=utcnow(), keep=self._keep)
            except (SQLAlchemyError, OSError):
                # The database is away: the documents wait in the trash for the next round.
                log.exception("trash purge failed", extra={"event": "trash.purge_failed"})
            await asyncio.sleep(self._interval)
