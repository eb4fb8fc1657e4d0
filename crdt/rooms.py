"""The process's rooms: exactly one per open document, loaded on first join, unloaded when idle.

A room is put in the table *before* it loads, and joiners await that same load, so fifty clients
opening a new document at the same instant all land in one room. Unloading marks the room
closing, waits until all its updates are durable, and only then lets go of it; a join that
arrives meanwhile waits and then loads a fresh room from the store, which by then has it all.

With a broker to other processes (`link_to`), each room is linked to the same document's rooms
there (`crdt.room_link`) for as long as it is loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, Protocol

from pycrdt import Doc

from crdt.broker import Broker
from crdt.guard import WriteScope
from crdt.peer import Peer
from crdt.room import Changed, Room, RoomStore
from crdt.room_link import RoomLink

log = logging.getLogger("widen.rooms")

# The roots of a document nobody may write any more (its deleted sections), asked on load.
RetiredRoots = Callable[[str], Awaitable[frozenset[str]]]
# Told of a room about to unload (no peer left, every edit applied), before its final flush.
Unloading = Callable[[Room], Awaitable[None]]


class RoomsStore(RoomStore, Protocol):
    """What the rooms need besides what each room does: a final flush before unloading."""

    async def wait_durable(self, seq: int) -> None: ...

    def forget(self, document_id: str) -> None:
        """Drop bookkeeping for a document whose room unloaded."""


async def _no_retired_roots(_name: str) -> frozenset[str]:
    return frozenset()


class _Entry:
    def __init__(self, room: Room, loading: Awaitable[None]) -> None:
        self.room = room
        self.loaded: asyncio.Task[None] = asyncio.ensure_future(loading)
        self.closing = False
        self.closed = asyncio.Event()
        self.idle_timer: asyncio.TimerHandle | None = None


class Rooms:
    def __init__(
        self,
        store: RoomsStore,
        *,
        idle_seconds: float,
        awareness_max_bytes: int,
        max_depth: int,
        retired_roots: RetiredRoots = _no_retired_roots,
        changed: Changed | None = None,
        unloading: Unloading | None = None,
    ) -> None:
        self._store = store
        self._unloading = unloading
        self._idle_seconds = idle_seconds
        self._awareness_max_bytes = awareness_max_bytes
        self._max_depth = max_depth
        self._retired_roots = retired_roots
        self._changed = changed
        self._entries: dict[str, _Entry] = {}
        self._unloads: set[asyncio.Task[None]] = set()
        self._broker: Broker | None = None
        self._repair_seconds = 0.0

    def link_to(self, broker: Broker, *, repair_seconds: float) -> None:
        """Serve each document together with the other processes behind `broker`."""
        self._broker = broker
        self._repair_seconds = repair_seconds
        broker.after_loss(self._repair)

    def _repair(self, channel: str | None) -> None:
        """Messages on `channel` (None: any) may have been lost: the rooms concerned reload
        what they lack from the database."""
        for entry in self._entries.values():
            link = entry.room.link
            if link is not None and channel in (None, link.channel):
                link.repair()

    @property
    def open_rooms(self) -> int:
        return len(self._entries)

    @property
    def connections(self) -> int:
        return sum(len(e.room.peers) for e in self._entries.values())

    def get(self, name: str) -> Room | None:
        """The document's room if it is loaded and not unloading: a room still loading holds
        part of the document (and is being written by the loading thread)."""
        entry = self._entries.get(name)
        if entry is None or entry.closing or not entry.loaded.done():
            return None
        if entry.loaded.cancelled() or entry.loaded.exception() is not None:
            return None
        return entry.room

    async def join(self, name: str, peer: Peer) -> Room:
        entry = await self._loaded(name)
        entry.room.add(peer)
        return entry.room

    async def retire_root(self, name: str, root: str, origin: str | None) -> None:
        """From now on nobody writes `root` (a deleted section), and its content leaves the
        document: deleted in the live doc, stored and relayed like any edit."""
        entry = await self._loaded(name)
        entry.room.retired |= {root}
        self._tell_retired(entry.room)
        entry.room.clear_root(root, origin)
        if not entry.room.peers:
            self._schedule_unload(entry)

    async def edit(self, name: str, change: Callable[[Doc[Any]], object], origin: str | None,
                   *, reopen: frozenset[str] = frozenset()) -> None:
        """Change the live doc on `origin`'s account (`Room.edit`), loading it if need be;
        `reopen`: retired roots that may be written again first (a restored section)."""
        async with self.holding(name) as room:
            if room.retired & reopen:
                room.retired -= reopen
                self._tell_retired(room)
            room.edit(change, origin)

    @staticmethod
    def _tell_retired(room: Room) -> None:
        if room.link is not None:
            room.link.retired(room.retired)

    @contextlib.asynccontextmanager
    async def holding(self, name: str) -> AsyncIterator[Room]:
        """The document's room, loaded, for reading its live doc across awaits; left to
        unload when idle afterwards, as after any other use without a peer."""
        entry = await self._loaded(name)
        try:
            yield entry.room
        finally:
            if not entry.room.peers and not entry.closing:
                self._schedule_unload(entry)

    def narrow(self, name: str, origin: str,
               narrowed: Callable[[WriteScope], WriteScope]) -> None:
        """Narrow the write scope of every open connection of `origin` to the document."""
        for peer in self._peers_of(name, origin):
            peer.scope = narrowed(peer.scope)

    def disconnect(self, name: str, origin: str, code: int, reason: str, *,
                   denied: bool = False) -> None:
        """Close every open connection of `origin` to the document; `denied` first tells the
        client why with the y-websocket permission-denied message."""
        for peer in self._peers_of(name, origin):
            if denied:
                peer.deny(code, reason)
            else:
                peer.close(code, reason)

    def _peers_of(self, name: str, origin: str) -> list[Peer]:
        room = self.get(name)
        if room is None:
            return []
        return [peer for peer in room.peers if peer.origin == origin and not peer.closing]

    async def _loaded(self, name: str) -> _Entry:
        """The document's room, loaded and not unloading, with its idle timer stopped."""
        while True:
            entry = self._entries.get(name)
            if entry is None:
                room = self._new_room(name)
                entry = _Entry(room, self._load(room))
                self._entries[name] = entry
            if entry.closing:
                await entry.closed.wait()
                continue
            try:
                await asyncio.shield(entry.loaded)
            except Exception:
                if self._entries.get(name) is entry:
                    del self._entries[name]
                raise
            if entry.closing:
                continue
            if entry.room.broken:
                await self._unload(entry)
                continue
            if entry.idle_timer is not None:
                entry.idle_timer.cancel()
                entry.idle_timer = None
            return entry

    async def _load(self, room: Room) -> None:
        link = None
        if self._broker is not None:
            link = RoomLink(room, self._broker, partial(self._stored, room.name),
                            repair_seconds=self._repair_seconds)
            await link.open()  # before loading: see crdt.room_link
        try:
            await room.load()
            room.retired = await self._retired_roots(room.name)
        except BaseException:
            if link is not None:
                await link.close()
            raise
        if link is not None:
            room.linked(link)
            link.loaded()
        # A section deleted just before a crash may not have been emptied yet.
        for root in room.retired:
            room.clear_root(root, None)

    def leave(self, room: Room, peer: Peer) -> None:
        room.remove(peer)
        entry = self._entries.get(room.name)
        if entry is None or entry.room is not room or room.peers or entry.closing:
            return
        self._schedule_unload(entry)

    def _schedule_unload(self, entry: _Entry) -> None:
        if entry.idle_timer is not None:
            entry.idle_timer.cancel()
        entry.idle_timer = asyncio.get_running_loop().call_later(
            self._idle_seconds, self._start_unload, entry
        )

    def close_room(self, name: str, code: int, reason: str) -> Room | None:
        """Disconnect everyone from a document (deleted, say); the room then unloads."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        entry.room.close_all(code, reason)
        return entry.room

    async def unload(self, name: str) -> None:
        """Unload now (after a final flush), e.g. before a document's log is deleted."""
        entry = self._entries.get(name)
        if entry is not None:
            await self._unload(entry)

    async def close(self, code: int, reason: str) -> None:
        """Shutdown: tell every client, then unload every room after its final flush."""
        for entry in list(self._entries.values()):
            entry.room.close_all(code, reason)
        await asyncio.gather(*(self._unload(e) for e in list(self._entries.values())))
        if self._unloads:
            await asyncio.gather(*self._unloads)

    async def _stored(self, name: str) -> tuple[list[bytes], dict[int, str | None]]:
        stored = await self._store.load(name)
        return stored.updates, stored.client_origins

    def _new_room(self, name: str) -> Room:
        return Room(name, self._store, awareness_max_bytes=self._awareness_max_bytes,
                    max_depth=self._max_depth, changed=self._changed)

    def _start_unload(self, entry: _Entry) -> None:
        entry.idle_timer = None
        if entry.room.peers or entry.closing:
            return
        task = asyncio.create_task(self._unload(entry), name=f"widen-unload-{entry.room.name}")
        self._unloads.add(task)
        task.add_done_callback(self._unloads.discard)

    async def _unload(self, entry: _Entry) -> None:
        if entry.closing:
            await entry.closed.wait()
            return
        entry.closing = True
        if entry.idle_timer is not None:
            entry.idle_timer.cancel()
        try:
            # Wait for in-flight loads too, or a failed load would surface as never retrieved.
            await asyncio.gather(entry.loaded, return_exceptions=True)
            loaded = not entry.loaded.cancelled() and entry.loaded.exception() is None
            if self._unloading is not None and loaded and not entry.room.broken:
                await self._unloading(entry.room)
            await self._store.wait_durable(entry.room.last_seq)
        finally:
            if self._entries.get(entry.room.name) is entry:
                del self._entries[entry.room.name]
            self._store.forget(entry.room.name)
            if entry.room.link is not None:
                await entry.room.link.close()
            entry.closed.set()
            log.info("room unloaded", extra={"event": "room.unloaded", "room": entry.room.name})
