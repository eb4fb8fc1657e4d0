"""A room's link to the same document's rooms in other processes, over the broker channel
`widen:doc:<id>` (DESIGN §6 "Multi-process").

What crosses: every update once it is committed and live (the engine's encoding of what the
room applied, with the Yjs client ids claimed meanwhile and who claimed them), awareness
changes (already bound to their sender's identity), the set of roots nobody may write (deleted
sections), and, every `repair_seconds`, the live doc's state vector.

Order of a load: subscribe, then load from the database, then apply what arrived meanwhile
(updates are idempotent). An update committed before the load is in what it reads; one
committed after is published after, to a subscription that already exists. Pub/sub delivers at
most once, so two things repair: after a broker outage every room reloads what it lacks from
the database, and a room that still lacks, a heartbeat later, content another process's state
vector showed (it may have been in flight, or not yet committed there) does the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pycrdt import Doc

from crdt.broker import Broker, Subscription
from crdt.updates import decode_state_vector

log = logging.getLogger("widen.room_link")

_UPDATE, _AWARENESS, _RETIRED, _STATE = b"U", b"A", b"R", b"S"
_HEADER = struct.Struct(">I")

# Loads the document's log as the database holds it now: (rows, owner of each client id).
LoadStored = Callable[[], Awaitable[tuple[list[bytes], dict[int, str | None]]]]


def document_channel(document_id: str) -> str:
    return f"widen:doc:{document_id}"


def _encode(kind: bytes, header: object, payload: bytes = b"") -> bytes:
    encoded = json.dumps(header).encode()
    return kind + _HEADER.pack(len(encoded)) + encoded + payload


def _decode(message: bytes) -> tuple[bytes, Any, bytes]:
    kind = message[:1]
    (length,) = _HEADER.unpack_from(message, 1)
    start = 1 + _HEADER.size
    return kind, json.loads(message[start:start + length]), message[start + length:]


class LinkedRoom(Protocol):
    """What the link needs of a room (`crdt.room.Room`)."""

    name: str
    doc: Doc[Any]
    retired: frozenset[str]

    def apply_remote(self, update: bytes, claims: dict[int, str | None]) -> None:
        """Take an update another process committed (or the database holds)."""

    def apply_remote_awareness(self, payload: bytes) -> None: ...

    def lacks(self, state_vector: dict[int, int]) -> bool:
        """Whether `state_vector` names content this room has not seen."""


class RoomLink:
    def __init__(self, room: LinkedRoom, broker: Broker, load_stored: LoadStored, *,
                 repair_seconds: float) -> None:
        self._room = room
        self._broker = broker
        self.channel = document_channel(room.name)
        self._load_stored = load_stored
        self._repair_seconds = repair_seconds
        self._subscription: Subscription | None = None
        self._early: list[bytes] | None = []  # what arrived before the room loaded
        # State vectors other processes showed ahead of this room, and when: content they
        # held then that is still missing a heartbeat later was lost on the way.
        self._ahead: list[tuple[float, dict[int, int]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.TimerHandle | None = None
        self._repairing = False
        self._repair_again = False  # asked while repairing: what it read may be too old

    async def open(self) -> None:
        """Subscribe: before the room loads, so nothing committed meanwhile is missed."""
        self._subscription = await self._broker.subscribe(self.channel, self._receive)

    def loaded(self) -> None:
        """The room holds the stored log: apply what arrived meanwhile, start the heartbeat."""
        early, self._early = self._early or [], None
        for message in early:
            self._receive(message)
        self._schedule_heartbeat()

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._subscription is not None:
            await self._subscription.close()
        for task in list(self._tasks):
            task.cancel()

    def shown(self, update: bytes, claims: dict[int, str | None]) -> None:
        """The room's live doc took `update` (committed): other processes' rooms take it too."""
        self._post(_encode(_UPDATE, {str(k): v for k, v in claims.items()}, update))

    def awareness(self, payload: bytes) -> None:
        self._post(_encode(_AWARENESS, None, payload))

    def retired(self, roots: frozenset[str]) -> None:
        self._post(_encode(_RETIRED, sorted(roots)))

    def repair(self) -> None:
        """Reload what the database holds and this room lacks (messages may have been lost);
        asked again while at it, read again once done."""
        if self._repairing:
            self._repair_again = True
            return
        self._repairing = True
        task = asyncio.get_running_loop().create_task(self._repair(),
                                                      name=f"widen-repair-{self._room.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _post(self, message: bytes) -> None:
        self._broker.post(self.channel, message)

    def _receive(self, message: bytes) -> None:
        if self._early is not None:
            self._early.append(message)
            return
        kind, header, payload = _decode(message)
        if kind == _UPDATE:
            self._room.apply_remote(payload, {int(k): v for k, v in header.items()})
        elif kind == _AWARENESS:
            self._room.apply_remote_awareness(payload)
        elif kind == _RETIRED:
            self._room.retired = frozenset(header)
        elif kind == _STATE:
            self._check(decode_state_vector(payload))

    def _check(self, remote: dict[int, int]) -> None:
        """Repair if this room still lacks what another process showed half a heartbeat ago. Not
        what it shows now: its live doc may hold its own accepted updates that are not yet
        committed (applied before a remote update, `Room.apply_remote`), which it publishes
        once they are."""
        now = time.monotonic()
        if self._room.lacks(remote):
            self._ahead.append((now, remote))
        old = now - self._repair_seconds / 2
        settled = [sv for at, sv in self._ahead if at <= old]
        self._ahead = [(at, sv) for at, sv in self._ahead if at > old]
        if any(self._room.lacks(sv) for sv in settled):
            self._ahead.clear()
            log.info("another process holds updates this one missed: repairing",
                     extra={"event": "room.behind", "room": self._room.name})
            self.repair()

    def _schedule_heartbeat(self) -> None:
        self._heartbeat = asyncio.get_running_loop().call_later(self._repair_seconds,
                                                                self._beat)

    def _beat(self) -> None:
        self._post(_encode(_STATE, None, self._room.doc.get_state()))
        self._schedule_heartbeat()

    async def _repair(self) -> None:
        try:
            while True:
                self._repair_again = False
                rows, origins = await self._load_stored()
                state = self._room.doc.get_state()
                missing = await asyncio.to_thread(_missing, rows, state)
                self._room.apply_remote(missing, origins)
                if not self._repair_again:
                    break
        except Exception:
            # The next heartbeat or outage tries again; the room keeps serving meanwhile.
            log.exception("repairing a room from the database failed",
                          extra={"event": "room.repair_failed", "room": self._room.name})
        finally:
            self._repairing = False


def _missing(rows: list[bytes], state_vector: bytes) -> bytes:
    """What the stored rows hold beyond `state_vector`, with the whole delete set."""
    doc: Doc[Any] = Doc()
    for row in rows:
        doc.apply_update(row)
    return doc.get_update(state_vector)
