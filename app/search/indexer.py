"""Keeps the search entries in step with the documents, in the background.

Whatever changes a document (an edit committed by the update writer, a rename, a section added,
renamed or deleted) calls `changed`; the document is indexed again at most `delay` seconds
later, once, however many changes arrive meanwhile, so a busy document costs one re-index per
`delay`, not one per keystroke. One task does the indexing; turning documents into text runs
in a worker process (`app.workers`), off the event loop.

Documents come due on a grid of a fifth of `delay` (never later than `delay`), so those that
changed within the same fifth are indexed together: one read, one text extraction and one
write for all of them. A fixed cost per document made search a sixth of the server's CPU
with a hundred documents being edited. If indexing them together fails, each is indexed
alone, so one document's failure is reported as its own and costs the others nothing.

What must never be found is kept out by the query, not by the index's freshness: deleted
sections and documents, and anything the searcher may not read, are filtered when searching
(`app.search.finder`). The index may only lag behind new text and new titles, by `delay`
seconds plus the work. At start, every document whose entries are older than its log or its
titles (a crash, or a database from before search) is indexed again. With several processes,
one of them indexes each round of a document's changes (`app.search.claims`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from functools import partial

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import models
from app.permissions import section_root
from app.search.claims import Deferred, IndexClaims
from app.search.texts import documents_texts
from app.search.words import indexable
from app.timeutil import utcnow
from app.workers import TextWorkers, WorkFailed
from crdt.faults import Fault, classify, describe
from crdt.rooms import Rooms
from crdt.schema import doc_updates
from crdt.update_log import UpdateLog

log = logging.getLogger("widen.search")

# A database that is away is asked again after this long.
_RETRY_SECONDS = 5.0
# Due times are rounded down to a grid of `delay / _GRID_STEPS` (see the module's docstring).
_GRID_STEPS = 5
# At most this many documents are indexed together.
_MAX_BATCH = 32


def _aligned_delay(now: float, delay: float) -> float:
    """How long from `now` until the grid point at or before `now + delay`."""
    if delay <= 0:
        return 0.0
    grid = delay / _GRID_STEPS
    return min(delay, max(0.0, math.floor((now + delay) / grid) * grid - now))


@dataclass(frozen=True, slots=True)
class _Source:
    """What one indexing reads from the database before the text is extracted."""

    title: str
    sections: list[tuple[str, str]]  # (id, title) of each live section, in order
    revision: int
    updates: list[bytes]


class SearchIndexer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], rooms: Rooms,
                 store: UpdateLog, workers: TextWorkers, *, delay_seconds: float,
                 claims: IndexClaims | None = None) -> None:
        """`claims`: how processes sharing the database share the work (None: this process
        is the only one)."""
        self._sessions = sessions
        self._rooms = rooms
        self._store = store
        self._workers = workers
        self._delay = delay_seconds
        self._scheduled: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._claims = claims
        self._claiming: dict[str, asyncio.Task[None]] = {}
        # Documents whose round another process claimed, until it is due.
        self._deferred: dict[str, asyncio.TimerHandle] = {}
        self._due: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._indexing: set[str] = set()
        self.documents_indexed = 0

    @property
    def pending(self) -> int:
        """Documents waiting to be indexed again, or being indexed now."""
        return len(self._scheduled | self._indexing)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="widen-search-indexer")

    def changed(self, document_ids: str | set[str]) -> None:
        """These documents changed: index them again soon. Never raises (the update writer
        calls it after every commit)."""
        for document_id in {document_ids} if isinstance(document_ids, str) else document_ids:
            self._schedule(document_id, self._delay)

    async def changed_soon(self, document_id: str) -> None:
        """`changed`, as a route's background task after its commit (Starlette would run a
        plain function in a thread, away from the event loop and its timers)."""
        self.changed(document_id)

    async def stop(self) -> None:
        """Index what is still scheduled, then end: a clean stop leaves no stale entry."""
        if self._task is None:
            return
        for task in self._claiming.values():
            task.cancel()
        for document_id, timer in [*self._timers.items(), *self._deferred.items()]:
            timer.cancel()
            self._due.put_nowait(document_id)
        for document_id in self._claiming:
            self._due.put_nowait(document_id)
        self._timers.clear()
        self._deferred.clear()
        self._claiming.clear()
        self._due.put_nowait(None)
        await self._task
        self._task = None

    def _schedule(self, document_id: str, delay: float) -> None:
        if document_id in self._scheduled:
            return  # the coming re-index will read this change too
        self._scheduled.add(document_id)
        # Aligned before claiming: a claim says when its round reads (`app.search.claims`).
        delay = _aligned_delay(asyncio.get_running_loop().time(), delay)
        if self._claims is None:
            self._arm(document_id, delay)
            return
        task = asyncio.create_task(self._claim(self._claims, document_id, delay),
                                   name=f"widen-search-claim-{document_id}")
        self._claiming[document_id] = task
        task.add_done_callback(partial(self._claim_done, document_id, delay))

    def _claim_done(self, document_id: str, delay: float, task: asyncio.Task[None]) -> None:
        self._claiming.pop(document_id, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a search round could not be claimed; indexing it here", exc_info=error,
                      extra={"event": "search.claim_failed", "document_id": document_id})
            self._arm(document_id, delay)

    async def _claim(self, claims: IndexClaims, document_id: str, delay: float) -> None:
        claim = await claims.claim(document_id, delay)
        loop = asyncio.get_running_loop()
        if isinstance(claim, Deferred):
            # The claimant reads after this process's commits so far; until it does, later
            # ones are covered too.
            self._deferred[document_id] = loop.call_later(
                claim.seconds, self._deferral_ended, document_id)
        else:
            self._arm(document_id, delay)

    def _deferral_ended(self, document_id: str) -> None:
        del self._deferred[document_id]
        self._scheduled.discard(document_id)

    def _arm(self, document_id: str, delay: float) -> None:
        self._timers[document_id] = asyncio.get_running_loop().call_later(
            delay, self._make_due, document_id)

    def _make_due(self, document_id: str) -> None:
        del self._timers[document_id]
        self._due.put_nowait(document_id)

    async def _run(self) -> None:
        await self._catch_up()
        while (batch := await self._next_batch()) is not None:
            # Changes from now on schedule another round: this one may read before them.
            self._scheduled.difference_update(batch)
            self._indexing = set(batch)
            try:
                from_log = {document_id: self._claims is not None
                            and await self._claims.reading(document_id)
                            for document_id in batch}
                await self._index_reporting(batch, from_log)
            finally:
                self._indexing = set()

    async def _next_batch(self) -> list[str] | None:
        """The documents due now (at least one, waiting for it), or None once stopped."""
        if (first := await self._due.get()) is None:
            return None
        batch = [first]
        while len(batch) < _MAX_BATCH and not self._due.empty():
            if (document_id := self._due.get_nowait()) is None:
                self._due.put_nowait(None)  # stop after this batch
                break
            batch.append(document_id)
        return list(dict.fromkeys(batch))

    async def _catch_up(self) -> None:
        try:
            stale = await self._stale_documents()
        except Exception as exc:
            log.error("documents to index could not be listed (%s); they are indexed when "
                      "they next change", describe(exc),
                      extra={"event": "search.catch_up_failed", "error": describe(exc)})
            return
        if stale:
            log.info("indexing %d documents for search", len(stale),
                     extra={"event": "search.catch_up", "documents": len(stale)})
        for document_id in stale:
            self._schedule(document_id, 0)

    async def _stale_documents(self) -> list[str]:
        """Documents never indexed, or indexed before their log's last row, their last
        rename or their sections' last change."""
        document, state = models.Document, models.SearchState
        last_row = (select(func.coalesce(func.max(doc_updates.c.id), 0))
                    .where(doc_updates.c.document_id == document.id).scalar_subquery())
        section_changed = (select(models.Section.id)
                           .where(models.Section.document_id == document.id,
                                  models.Section.updated_at > state.indexed_at).exists())
        async with self._sessions() as session:
            return list(await session.scalars(
                select(document.id)
                .outerjoin(state, state.document_id == document.id)
                .where(or_(state.document_id.is_(None), state.revision != last_row,
                           document.updated_at > state.indexed_at, section_changed))))

    async def _index_reporting(self, batch: list[str], from_log: dict[str, bool]) -> None:
        """Index these documents; a failure is reported here and, if the database was away,
        tried again later. A document that cannot be read keeps its previous entries.

        `from_log`: read a document's committed log even if its room is loaded here (other
        processes' commits may not have reached the room yet)."""
        if len(batch) > 1:
            try:
                await self._index(batch, from_log)
                return
            except Exception as exc:
                log.info("%d documents could not be indexed together (%s); indexing each "
                         "alone", len(batch), describe(exc),
                         extra={"event": "search.batch_split", "documents": len(batch),
                                "error": describe(exc)})
            for document_id in batch:
                await self._index_reporting([document_id], from_log)
            return
        document_id = batch[0]
        try:
            await self._index(batch, from_log)
        except WorkFailed:
            log.error("a document could not be turned into text for search",
                      extra={"event": "search.index_failed", "document_id": document_id})
        except IntegrityError:
            # The document was deleted since it was read (its entries' foreign key): there
            # is nothing left to index.
            log.debug("document deleted while being indexed",
                      extra={"event": "search.index_gone", "document_id": document_id})
        except Exception as exc:
            if classify(exc) is Fault.REFUSED:
                log.exception("the database refused a document's search entries",
                              extra={"event": "search.index_refused",
                                     "document_id": document_id})
                return
            log.warning("search entries not written (%s); trying again in %.0f s",
                        describe(exc), _RETRY_SECONDS,
                        extra={"event": "search.index_retry", "document_id": document_id,
                               "error": describe(exc)})
            self._schedule(document_id, _RETRY_SECONDS)

    async def _index(self, batch: list[str], from_log: dict[str, bool]) -> None:
        sources = await self._read(batch, from_log)
        if not sources:
            return  # deleted: their entries went with them
        texts = await self._workers.run(documents_texts, [
            (source.updates, [section_root(section_id) for section_id, _ in source.sections])
            for source in sources.values()])
        entries: list[dict[str, object]] = []
        for (document_id, source), roots_text in zip(sources.items(), texts, strict=True):
            title = indexable(source.title)
            entries.extend(
                {"document_id": document_id, "section_id": section_id, "title": title,
                 "section_title": indexable(section_title),
                 "body": roots_text[section_root(section_id)]}
                for section_id, section_title in source.sections)
            if not source.sections:
                entries.append({"document_id": document_id, "section_id": None,
                                "title": title, "section_title": "", "body": ""})
        await self._write({document_id: source.revision
                           for document_id, source in sources.items()}, entries)
        self.documents_indexed += len(sources)

    async def _read(self, batch: list[str], from_log: dict[str, bool]) -> dict[str, _Source]:
        """What indexing needs of each document of `batch` that still exists."""
        document, section = models.Document, models.Section
        async with self._sessions() as session, session.begin():
            titles: dict[str, str] = {
                row.id: row.title for row in await session.execute(
                    select(document.id, document.title).where(document.id.in_(batch)))}
            sections: dict[str, list[tuple[str, str]]] = {key: [] for key in titles}
            for row in await session.execute(
                    select(section.document_id, section.id, section.title)
                    .where(section.document_id.in_(titles), section.deleted_at.is_(None))
                    .order_by(section.document_id, section.position, section.created_at)):
                sections[row.document_id].append((row.id, row.title))
            conn = await session.connection()
            revisions = await self._store.last_rows(list(titles), conn)
            sources: dict[str, _Source] = {}
            for document_id, title in titles.items():
                # A live room is ahead of the log (edits not yet committed): read the room.
                room = None if from_log[document_id] else self._rooms.get(document_id)
                updates = ([room.doc.get_update()] if room is not None
                           else await self._store.read(document_id, conn))
                sources[document_id] = _Source(title, sections[document_id],
                                               revisions[document_id], updates)
            return sources

    async def _write(self, revisions: dict[str, int], entries: list[dict[str, object]]) -> None:
        async with self._sessions() as session, session.begin():
            conn = await session.connection()
            await conn.execute(delete(models.SearchEntry)
                               .where(models.SearchEntry.document_id.in_(revisions)))
            await conn.execute(insert(models.SearchEntry), entries)
            upsert = (postgresql_insert if conn.dialect.name == "postgresql"
                      else sqlite_insert)(models.SearchState)
            now = utcnow()
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["document_id"],
                    set_={"revision": upsert.excluded.revision,
                          "indexed_at": upsert.excluded.indexed_at}),
                [{"document_id": document_id, "revision": revision, "indexed_at": now}
                 for document_id, revision in revisions.items()])
