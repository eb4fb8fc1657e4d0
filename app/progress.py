"""Progress without reading: per-section word counts, and who wrote the text that is there.

Counting words, and the characters of the current text each Yjs client id wrote
(`crdt.attribution.surviving_chars`), needs the text, so it happens on the server and only the
numbers leave: a `progress` member learns how far a section is, never what it says. The
counting runs in a worker process (`app.workers`) and is cached per document state, so a home
page that lists twenty documents neither blocks the event loop nor rebuilds twenty documents
each time.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc
from sqlalchemy.ext.asyncio import AsyncConnection

from app.workers import TextWorkers, WorkFailed
from crdt.attribution import surviving_chars
from crdt.rooms import Rooms
from crdt.text import root_text
from crdt.update_log import UpdateLog

log = logging.getLogger("widen.progress")

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_CACHE_ENTRIES = 2048


@dataclass(frozen=True, slots=True)
class TextFigures:
    # Words per root asked for.
    words: dict[str, int]
    # Characters of the current text (UTF-16 units) per root and Yjs client id, every root.
    surviving: dict[str, dict[int, int]]


def count_text(updates: list[bytes], roots: list[str]) -> TextFigures:
    """The figures of the document these updates make. Runs in a worker process."""
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return TextFigures({root: len(_WORD.findall(root_text(doc, root))) for root in roots},
                       surviving_chars(doc.get_update()))


class TextFigureCache:
    """Text figures per document state: a live room's version, or the stored log's last row."""

    def __init__(self, rooms: Rooms, store: UpdateLog, workers: TextWorkers) -> None:
        self._rooms = rooms
        self._store = store
        self._workers = workers
        # A failure is cached too: a document that crashes a worker is not retried until it
        # changes, so a page listing it cannot be turned into a stream of crashes.
        self._cache: OrderedDict[tuple[object, ...], TextFigures | None] = OrderedDict()
        self._counting: dict[tuple[object, ...], asyncio.Future[TextFigures | None]] = {}

    async def of(self, document_id: str, roots: list[str],
                 conn: AsyncConnection) -> TextFigures | None:
        """The figures, or None if they cannot be counted (the failure is logged). Reads
        through the caller's connection (see `UpdateLog._reading`)."""
        room = self._rooms.get(document_id)
        if room is not None:
            key: tuple[object, ...] = (document_id, room.generation, room.version, *roots)
            if key in self._cache:
                return self._hit(key)
            updates = [room.doc.get_update()]
        else:
            key = (document_id, "stored", *await self._store.revision(document_id, conn), *roots)
            if key in self._cache:
                return self._hit(key)
            updates = await self._store.read(document_id, conn)
        # Requests arriving while the same state is being counted wait for that one count.
        counting = self._counting.get(key)
        if counting is None:
            counting = asyncio.ensure_future(self._count(document_id, key, updates, roots))
            self._counting[key] = counting
        return await asyncio.shield(counting)

    async def _count(self, document_id: str, key: tuple[object, ...], updates: list[bytes],
                     roots: list[str]) -> TextFigures | None:
        try:
            try:
                counts: TextFigures | None = await self._workers.run(count_text, updates,
                                                                       roots)
            except WorkFailed:
                log.error("words of a document could not be counted",
                          extra={"event": "progress.count_failed", "document_id": document_id})
                counts = None
            self._cache[key] = counts
            if len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
            return counts
        finally:
            del self._counting[key]

    def _hit(self, key: tuple[object, ...]) -> TextFigures | None:
        self._cache.move_to_end(key)
        return self._cache[key]


def from_epoch_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)
