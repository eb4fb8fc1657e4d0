"""Text edits move progress (words, contributors): pages following it hear a `progress` event.

Typing changes a document many times a second; a page needs to hear of it once in a while.
The first edit after a quiet spell starts a window (`WIDEN_LIVE_PROGRESS_INTERVAL_MS`); when
it ends, and the window's edits are durable (progress is computed from stored rows), one event
goes to every member. So a page learns of a change within about one window, and no document
costs more than one event per window however fast its writers type. Before the event, the
window's recorder (`app.progress_days.DayRecorder`) counts the words and keeps the day's row,
so the pages that refetch read numbers already counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from app.event_fanout import EventFanout
from app.events import Change
from crdt.store import UpdateStore

log = logging.getLogger("widen.events")


class ProgressNotices:
    def __init__(self, store: UpdateStore, fanout: EventFanout, interval: float) -> None:
        self._store = store
        self._fanout = fanout
        self._interval = interval
        # Documents in a window, with the store sequence of their last edit so far.
        self._waiting: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._recorder: Callable[[str], Awaitable[bool]] | None = None
        # Documents waiting for a first count (`count_soon`), counted one at a time, and those
        # asked for since they last changed: one that cannot be counted is not asked again
        # by every dashboard that lists it.
        self._uncounted: list[str] = []
        self._asked: set[str] = set()
        self._counting: asyncio.Task[None] | None = None

    def records_with(self, recorder: Callable[[str], Awaitable[bool]]) -> None:
        """Run `recorder(document_id)` at the end of each window, before the event (it is
        made after the rooms that call `changed`, hence not a constructor argument)."""
        self._recorder = recorder

    def changed(self, document_id: str, seq: int, _origin: str | None = None) -> None:
        self._asked.discard(document_id)
        if document_id in self._waiting:
            self._waiting[document_id] = max(seq, self._waiting[document_id])
            return
        self._waiting[document_id] = seq
        task = asyncio.get_running_loop().create_task(
            self._tell(document_id), name=f"widen-progress-{document_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, document_id: str) -> None:
        await asyncio.sleep(self._interval)
        seq = self._waiting.pop(document_id)
        await self._store.wait_durable(seq)
        if self._recorder is not None:
            await self._recorder(document_id)
        await self._fanout.publish([Change(document_id, "progress")])

    def count_soon(self, document_ids: list[str]) -> None:
        """Count these documents' words in the background, one after another, each then told
        like an edit: the dashboard lists documents never counted (edited before counts were
        kept) without words, and asks for them here rather than reading them itself."""
        fresh = [d for d in document_ids if d not in self._asked]
        self._asked.update(fresh)
        self._uncounted.extend(fresh)
        if self._counting is None and self._uncounted:
            self._counting = asyncio.get_running_loop().create_task(
                self._count_uncounted(), name="widen-progress-backfill")
            self._tasks.add(self._counting)
            self._counting.add_done_callback(self._tasks.discard)

    async def _count_uncounted(self) -> None:
        try:
            while self._uncounted:
                document_id = self._uncounted.pop(0)
                if self._recorder is not None and await self._recorder(document_id):
                    await self._fanout.publish([Change(document_id, "progress")])
        finally:
            self._counting = None

    async def close(self) -> None:
        """At shutdown: whatever has not been told is not (pages refetch when they reconnect)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
