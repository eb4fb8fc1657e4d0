"""Text edits move progress (words, contributors): pages following it hear a `progress` event.

Typing changes a document many times a second; a page needs to hear of it once in a while.
The first edit after a quiet spell starts a window (`WIDEN_LIVE_PROGRESS_INTERVAL_MS`); when
it ends, and the window's edits are durable (progress is computed from stored rows), one event
goes to every member. So a page learns of a change within about one window, and no document
costs more than one event per window however fast its writers type. Every document edited
during a window is told when it ends, all in one publication (one database session, two
queries): a window per document had 100 busy documents open 200 sessions a second. Before
the event, the window's recorder (`app.progress_days.DayRecorder`) counts the words and keeps
the day's row, so the pages that refetch read numbers already counted; but at most once per
document every `WIDEN_PROGRESS_RECORD_SECONDS` (a later window's recording is deferred to
then). Counting reads the whole document in a worker: done every window for every document
being typed in, it took more CPU than the edits themselves (relay p50 1.5 s in
`bench/run.py`'s 100 busy rooms). A page that refetches in between counts the words itself
(`app.progress.TextFigureCache`). The update writer has a connection of its own
(`app.main`): no burst of counts or events can keep its commits, and so every relay, waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from app.events import Change

log = logging.getLogger("widen.events")


class Durability(Protocol):
    """The update store's side (`crdt.store.UpdateStore`): when an edit is on disk."""

    async def wait_durable(self, seq: int) -> None: ...


class Publisher(Protocol):
    """The live event channel's side (`app.event_fanout.EventFanout`)."""

    async def publish(self, changes: Sequence[Change]) -> None: ...


class ProgressNotices:
    def __init__(self, store: Durability, fanout: Publisher, interval: float,
                 record_interval: float) -> None:
        self._store = store
        self._fanout = fanout
        self._interval = interval
        self._record_interval = record_interval
        # When each document's day row was last recorded (loop time), and the recordings
        # deferred until their interval is over.
        self._recorded_at: dict[str, float] = {}
        self._deferred: dict[str, asyncio.TimerHandle] = {}
        # Documents edited in the current window, with the store sequence of their last edit
        # so far, and the task that ends the window.
        self._waiting: dict[str, int] = {}
        self._window: asyncio.Task[None] | None = None
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
        self._waiting[document_id] = max(seq, self._waiting.get(document_id, 0))
        if self._window is None:
            self._window = asyncio.get_running_loop().create_task(
                self._tell(), name="widen-progress-window")
            self._tasks.add(self._window)
            self._window.add_done_callback(self._tasks.discard)

    async def _tell(self) -> None:
        await asyncio.sleep(self._interval)
        waiting, self._waiting, self._window = self._waiting, {}, None
        await self._store.wait_durable(max(waiting.values()))
        # Those whose words are due to be counted are told once counted, the others at once:
        # one slow count does not hold back every other document's event.
        due = [document_id for document_id in waiting if self._take_due(document_id)]
        if len(due) < len(waiting):
            await self._fanout.publish([Change(document_id, "progress")
                                        for document_id in waiting if document_id not in due])
        if due:
            await asyncio.gather(*(self._record(document_id) for document_id in due))
            await self._fanout.publish([Change(document_id, "progress") for document_id in due])

    def _take_due(self, document_id: str) -> bool:
        """Whether the document's day row is to be recorded now; if not, record it once its
        interval is over."""
        if self._recorder is None:
            return False
        loop = asyncio.get_running_loop()
        last = self._recorded_at.get(document_id)
        if last is None or loop.time() - last >= self._record_interval:
            self._recorded_at[document_id] = loop.time()
            return True
        if document_id not in self._deferred:
            self._deferred[document_id] = loop.call_later(
                last + self._record_interval - loop.time(), self._record_deferred, document_id)
        return False

    def _record_deferred(self, document_id: str) -> None:
        del self._deferred[document_id]
        if not self._take_due(document_id):
            return
        task = asyncio.get_running_loop().create_task(
            self._record(document_id), name=f"widen-progress-record-{document_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, document_id: str) -> None:
        if self._recorder is not None:
            await self._recorder(document_id)

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
        """At shutdown: whatever has not been told is not (pages refetch when they reconnect;
        the words are counted again on the next edit or visit)."""
        for timer in self._deferred.values():
            timer.cancel()
        self._deferred.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
