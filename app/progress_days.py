"""Words over time: each document's words per section, kept once a day.

Counting words needs the document's text, which only a worker may read (`app.progress`); the
count is cheap to keep and expensive to redo. So whenever a count is made (an edit window
closes, `app.progress_events`; someone opens the progress page) its numbers are written as
the day's row, replacing that day's earlier count. The progress page draws the rows as words
over time, and the dashboard reads its words and trend from them alone: it never rebuilds a
document.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app import indicators, models
from app.permissions import document_members, section_root
from app.progress import TextFigureCache, TextFigures
from app.timeutil import utcnow
from crdt.faults import describe
from crdt.schema import doc_attribution
from crdt.update_log import UpdateLog

log = logging.getLogger("widen.progress")

# Days of the dashboard's trend.
TREND_DAYS = 14


def concentrated(figures: TextFigures, section_ids: list[str],
                 owners: dict[int, str | None], writers: int) -> bool:
    """The concentration indicator, as the progress page computes it, for the day's row."""
    by_user: dict[str, int] = {}
    total = 0
    for section_id in section_ids:
        for client_id, count in figures.surviving.get(section_root(section_id), {}).items():
            total += count
            owner = owners.get(client_id)
            if owner is not None:
                by_user[owner] = by_user.get(owner, 0) + count
    return indicators.concentration(by_user, total, writers).flagged


@dataclass(frozen=True, slots=True)
class Activity:
    """Last edit per root and last write per member (Unix ms), from attribution rows."""

    section_edits: dict[str, int]
    writers: dict[str, int]


def activity(rows: Iterable[Mapping[str, Any]]) -> Activity:
    """From a document's attribution rows (`UpdateLog.attribution`), as the report reads
    them: any row dates its root's last edit; a row with updates dates its origin's writing."""
    edits: dict[str, int] = {}
    writers: dict[str, int] = {}
    for row in rows:
        last = int(row["last_at"])
        edits[row["root"]] = max(last, edits.get(row["root"], 0))
        if row["updates"]:
            writers[row["origin"]] = max(last, writers.get(row["origin"], 0))
    return Activity(edits, writers)


async def activity_of(conn: AsyncConnection, document_id: str) -> Activity:
    """`activity` of one document, aggregated by the database (an edit window should not
    read a long document's whole attribution history)."""
    a = doc_attribution.c
    edits = (await conn.execute(
        select(a.root, func.max(a.last_at)).where(a.document_id == document_id)
        .group_by(a.root))).tuples().all()
    writers = (await conn.execute(
        select(a.origin, func.max(a.last_at)).where(a.document_id == document_id,
                                                     a.updates > 0)
        .group_by(a.origin))).tuples().all()
    return Activity({root: int(last) for root, last in edits},
                    {origin: int(last) for origin, last in writers})


async def record(session: AsyncSession, document_id: str, words: dict[str, int],
                 flagged: bool, done: Activity, now: datetime) -> None:
    """Today's row of a document: `words` per live section id. Upserted, in the caller's
    transaction."""
    conn = await session.connection()
    insert = (postgresql_insert if conn.dialect.name == "postgresql"
              else sqlite_insert)(models.ProgressDay)
    values = {"words": sum(words.values()), "sections": words, "concentrated": flagged,
              "section_edits": done.section_edits, "writers": done.writers,
              "counted_at": now}
    await session.execute(insert.values(document_id=document_id, day=now.date(), **values)
                          .on_conflict_do_update(index_elements=["document_id", "day"],
                                                 set_=values))


async def series(session: AsyncSession, document_id: str) -> list[models.ProgressDay]:
    """Every day's row of a document, oldest first."""
    return list(await session.scalars(
        select(models.ProgressDay).where(models.ProgressDay.document_id == document_id)
        .order_by(models.ProgressDay.day)))


def trend(words: Mapping[date, int], days: list[date]) -> list[int | None]:
    """Words on each of `days` (consecutive, oldest first): a day without a count carries the
    last count before it (`words` may hold one from before the first day); None before the
    first count."""
    earlier = [day for day in words if day < days[0]]
    last: int | None = words[max(earlier)] if earlier else None
    out: list[int | None] = []
    for day in days:
        last = words.get(day, last)
        out.append(last)
    return out


class DayRecorder:
    """Counts a document's words after its edits settle (`ProgressNotices`) and keeps the
    day's row. The count comes from `TextFigureCache`, so the progress page that loads next
    finds it cached."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], store: UpdateLog,
                 figures: TextFigureCache, *, at_once: int) -> None:
        """`at_once`: recordings under way together (the others wait their turn). A
        recording holds a database connection while a text worker counts, and the first
        edits after a restart make every open document due at once: unbounded, 100 of them
        took the whole pool for a second (requests and admissions waited, and so did the
        update writer and every relay until it had a connection of its own)."""
        self._sessions = sessions
        self._store = store
        self._figures = figures
        self._turns = asyncio.Semaphore(at_once)
        # Per document: its lock, and how many recordings hold it or wait for it.
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, document_id: str) -> bool:
        """Whether the day's row was kept (False: the words could not be counted)."""
        # One recording of a document at a time, in the order the windows closed: two
        # overlapping ones (a slow count) could otherwise commit the older count last.
        lock, users = self._locks.get(document_id, (asyncio.Lock(), 0))
        self._locks[document_id] = (lock, users + 1)
        try:
            async with lock, self._turns:
                return await self._record_logging(document_id)
        finally:
            lock, users = self._locks[document_id]
            if users == 1:
                del self._locks[document_id]
            else:
                self._locks[document_id] = (lock, users - 1)

    async def _record_logging(self, document_id: str) -> bool:
        try:
            async with self._sessions.begin() as session:
                return await self._record(session, document_id)
        except Exception as exc:
            # The live event still goes out; the day's words wait for the next count.
            log.error("words of a document could not be recorded (%s)", describe(exc),
                      extra={"event": "progress.record_failed", "document_id": document_id,
                             "error": describe(exc)})
            return False

    async def _record(self, session: AsyncSession, document_id: str) -> bool:
        document = await session.get(models.Document, document_id)
        if document is None or document.deleted_at is not None:
            return False
        section_ids = list(await session.scalars(
            select(models.Section.id).where(models.Section.document_id == document_id,
                                            models.Section.deleted_at.is_(None))))
        conn = await session.connection()
        figures = await self._figures.of(document_id, [section_root(s) for s in section_ids],
                                         conn)
        if figures is None:
            return False
        writers = sum(1 for access in (await document_members(session, document_id)).values()
                      if access.writes_text)
        flagged = concentrated(figures, section_ids,
                               await self._store.client_origins(document_id, conn), writers)
        await record(session, document_id,
                     {s: figures.words.get(section_root(s), 0) for s in section_ids},
                     flagged, await activity_of(conn, document_id), utcnow())
        return True
