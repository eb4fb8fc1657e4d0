"""When a document's history gets a checkpoint, and who edited since the last one.

Every accepted edit calls `edited` (from the room, so it stays a set insertion and a clock
read); a document then gets a checkpoint once its activity has been quiet for
`quiet_seconds`, or `max_seconds` after the first edit it does not hold yet, whichever comes
first, and when its room unloads with edits it does not hold. Named versions, restores and
deletions record through here too, and take the editors gathered so far with them.

What is recorded, and how, is `app.history.storage`; counting a version's words runs in the
worker pool after the version is stored (`words` stays None until then).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import models
from app.history import reading, storage
from app.models import DocumentVersion, VersionKind
from app.permissions import section_root
from app.workers import TextWorkers, WorkFailed
from crdt.room import Room
from crdt.rooms import Rooms

log = logging.getLogger("widen.history")


@dataclass
class _Activity:
    """Edits of one document that no version holds yet."""

    first: float
    last: float
    editors: set[str] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None


class Checkpointer:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], rooms: Rooms,
                 workers: TextWorkers, *, quiet_seconds: float, max_seconds: float) -> None:
        self._sessions = sessions
        self._rooms = rooms
        self._workers = workers
        self._quiet = quiet_seconds
        self._max = max_seconds
        self._active: dict[str, _Activity] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def edited(self, document_id: str, _seq: int, origin: str | None) -> None:
        """An edit was accepted (`crdt.room.Changed`): a checkpoint becomes due."""
        now = asyncio.get_running_loop().time()
        activity = self._active.get(document_id)
        if activity is None:
            activity = self._active[document_id] = _Activity(now, now)
            self._arm(document_id, activity, now + min(self._quiet, self._max))
        activity.last = now
        if origin is not None:
            activity.editors.add(origin)

    def _arm(self, document_id: str, activity: _Activity, when: float) -> None:
        activity.timer = asyncio.get_running_loop().call_at(when, self._due, document_id)

    def _due(self, document_id: str) -> None:
        activity = self._active.get(document_id)
        if activity is None:
            return
        due_at = min(activity.last + self._quiet, activity.first + self._max)
        if asyncio.get_running_loop().time() < due_at:
            self._arm(document_id, activity, due_at)  # edited meanwhile: wait for quiet
            return
        self._track(asyncio.create_task(self._checkpoint(document_id),
                                        name=f"widen-checkpoint-{document_id}"))

    async def _checkpoint(self, document_id: str) -> None:
        if document_id not in self._active:
            return  # recorded meanwhile (named, or its room unloaded): nothing left to keep
        try:
            async with self._rooms.holding(document_id) as room:
                await self.record(document_id, room.doc, kind=VersionKind.AUTO)
        except Exception:
            log.exception("checkpoint failed", extra={"event": "history.checkpoint_failed",
                                                      "document_id": document_id})

    async def unloading(self, room: Room) -> None:
        """The room unloads (`crdt.rooms.Unloading`): keep what no version holds yet."""
        if room.name not in self._active:
            return
        try:
            await self.record(room.name, room.doc, kind=VersionKind.AUTO)
        except Exception:
            log.exception("checkpoint at unload failed",
                          extra={"event": "history.checkpoint_failed", "document_id": room.name})

    async def record(self, document_id: str, doc: Doc[Any], *, kind: VersionKind,
                     name: str | None = None, created_by: str | None = None,
                     session: AsyncSession | None = None,
                     deleting: models.Section | None = None) -> DocumentVersion:
        """Record `doc` as the document's next version, in `session`'s transaction (the
        caller's, which then must call `count_words` once it commits) or in one of its own."""
        activity = self._active.pop(document_id, None)
        editors = set() if activity is None else activity.editors
        if activity is not None and activity.timer is not None:
            activity.timer.cancel()
        if created_by is not None and kind is VersionKind.RESTORE:
            editors.add(created_by)
        try:
            if session is not None:
                return await storage.record(session, document_id, doc, kind=kind, name=name,
                                            created_by=created_by, editors=editors,
                                            deleting=deleting)
            async with self._sessions() as own, own.begin():
                version = await storage.record(own, document_id, doc, kind=kind, name=name,
                                               created_by=created_by, editors=editors,
                                               deleting=deleting)
        except BaseException:
            if activity is not None:
                self._restore_activity(document_id, activity)
            raise
        # Counted apart: an unloading room (and whoever waits to join it again) need not wait.
        self._track(asyncio.create_task(self.count_words(version.id),
                                        name=f"widen-version-words-{version.id}"))
        return version

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _restore_activity(self, document_id: str, activity: _Activity) -> None:
        """A version failed to record: its editors stay pending, and another try is due."""
        current = self._active.get(document_id)
        if current is not None:
            current.editors |= activity.editors
            current.first = min(current.first, activity.first)
            return
        self._active[document_id] = activity
        self._arm(document_id, activity,
                  asyncio.get_running_loop().time() + self._quiet)

    async def count_words(self, version_id: str) -> None:
        """Count the words a stored version added and removed, per section (in a worker).
        Runs after the fact (a background task): a failure is logged, and the version stays
        listed with its words unknown."""
        try:
            await self._count_words(version_id)
        except Exception:
            log.exception("words of a version could not be stored",
                          extra={"event": "history.words_failed", "version_id": version_id})

    async def _count_words(self, version_id: str) -> None:
        async with self._sessions() as session, session.begin():
            version = await session.get(DocumentVersion, version_id)
            if version is None:
                return  # its document was deleted meanwhile
            before = await storage.previous(session, version)
            previous_rows = [] if before is None else await storage.rows(session, before)
            own = await storage.rows(session, version)
            roots = [section_root(str(s["id"])) for s in version.sections]
        try:
            words = await self._workers.run(reading.words_changed, previous_rows, own[-1],
                                            roots)
        except WorkFailed:
            log.error("words of a version could not be counted",
                      extra={"event": "history.words_failed", "version_id": version_id})
            return
        async with self._sessions() as session, session.begin():
            version = await session.get(DocumentVersion, version_id)
            if version is not None:
                version.words = {root.removeprefix("section:"): counts
                                 for root, counts in words.items()}

    async def stop(self) -> None:
        """Stop the timers and let running checkpoints finish (rooms unloading before this
        recorded what was pending)."""
        for activity in self._active.values():
            if activity.timer is not None:
                activity.timer.cancel()
        while self._tasks:  # a checkpoint finishing starts its word count
            await asyncio.gather(*self._tasks)
