"""What a room has accepted but not shown yet: applied to its live doc and relayed, in order,
once the store may show it, with what was accepted meanwhile coalesced into one message.

An accepted update is stored at once, but other clients see it only when the store says so
(`relayable_seq`: committed, unless storage is failing). Until then it waits here, and so do
the answers to sync step 1 asked after it, which must show it. When the store moves, the
waiting updates are applied to the live doc in one transaction and the engine's own encoding
of that transaction goes to every peer as one message: under load a commit carries many edits,
and each recipient then gets one message instead of one per edit (one per megabyte or so of
updates, which keeps a stalled peer's bound meaningful). Never `merge_updates` over
the clients' bytes (it can turn valid updates into bytes no client decodes). A lone update is
relayed as it came, without its sender; a coalesced one goes to its senders too (Yjs ignores
what it has).

So the live doc holds what may be shown (and a lone writer's edits, which nobody waits for),
and an answer to sync step 1 is computed when it goes out, from the live doc as of the updates
before it. What is accepted and not yet live
(`unapplied`) is what the write guard adds to the live doc when it rebuilds its probe.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pycrdt import Doc, create_update_message, handle_sync_message

from crdt.guard import is_rust_panic
from crdt.peer import Peer

log = logging.getLogger("widen.relay")


class RelayGate(Protocol):
    """The store's side: how far other clients may see, and a call when that moves."""

    @property
    def relayable_seq(self) -> int: ...

    def when_relayable(self, callback: Callable[[], None]) -> None: ...


# At most this many bytes of updates are coalesced into one relay. A peer with nothing queued
# writes a message straight to its transport whatever its size (`crdt.peer`): without a cap,
# a slow commit under load coalesced 19.2 MB into one relay, which a stalled client's
# transport took whole, past its peer's 8 MiB bound, and it was never closed.
MAX_COALESCED_BYTES = 1024 * 1024


@dataclass(slots=True)
class _Accepted:
    seq: int
    update: bytes
    sender: Peer | None  # None: the server's own edit
    applied: bool = False  # already in the live doc (`apply_all`)


@dataclass(frozen=True, slots=True)
class _Answer:
    """Sync step 2 owed to `to`, for the step 1 `request` it sent after update `seq`."""
    seq: int
    request: bytes
    to: Peer


@dataclass(frozen=True, slots=True)
class _Settled:
    """The mark that every answer owed to `to` before it has gone out."""
    seq: int
    to: Peer
    future: asyncio.Future[None]


_Item = _Accepted | _Answer | _Settled


class Relay:
    def __init__(self, doc: Doc[Any], peers: set[Peer], gate: RelayGate,
                 on_live_changed: Callable[[], None], on_broken: Callable[[], None]) -> None:
        self._doc = doc
        self._peers = peers
        self._gate = gate
        self._on_live_changed = on_live_changed
        self._on_broken = on_broken
        self._queue: deque[_Item] = deque()
        # Told of every update that went live once it may be shown (committed): for the same
        # document's rooms in other processes (`crdt.room_link`).
        self.shown: Callable[[bytes], None] | None = None

    def accepted(self, seq: int, update: bytes, sender: Peer | None, *,
                 applied: bool = False) -> None:
        """Update `seq` was accepted (and stored, or queued for it): show it when allowed.
        With nobody else to show it to and nothing waiting, it goes into the live doc at once:
        asking the store when it may be shown would make it commit at once, edit by edit.
        Unless other processes are told (`shown`): they may see only what is committed."""
        if (self.shown is None and not self._queue
                and all(peer is sender for peer in self._peers)):
            if not applied:
                self._apply([update])
            return
        self._add(_Accepted(seq, update, sender, applied))

    def answer(self, seq: int, request: bytes, to: Peer) -> None:
        """Answer `to`'s sync step 1 (`request`, already checked) once update `seq` shows."""
        if not self._queue and seq <= self._gate.relayable_seq:
            to.send(self._answer(request))
            return
        self._add(_Answer(seq, request, to))

    async def settle(self, peer: Peer, seq: int) -> None:
        """Wait until every answer owed to `peer` has gone out."""
        if not any(isinstance(item, _Answer) and item.to is peer for item in self._queue):
            return
        future = asyncio.get_running_loop().create_future()
        self._add(_Settled(seq, peer, future))
        await future

    def unapplied(self) -> list[bytes]:
        """Accepted updates the live doc does not hold yet, in order."""
        return [item.update for item in self._queue
                if isinstance(item, _Accepted) and not item.applied]

    def apply_all(self) -> None:
        """Put every accepted update into the live doc now (before the server edits it); they
        are still relayed when the store allows, as they came."""
        waiting = [item for item in self._queue if isinstance(item, _Accepted)
                   and not item.applied]
        if not waiting:
            return
        with self._doc.transaction():
            for item in waiting:
                self._doc.apply_update(item.update)
                item.applied = True
        self._on_live_changed()

    def _add(self, item: _Item) -> None:
        if not self._queue and item.seq <= self._gate.relayable_seq:
            self._queue.append(item)
            self._release()
            return
        if not self._queue:
            self._gate.when_relayable(self._release)
        self._queue.append(item)

    def _release(self) -> None:
        relayable = self._gate.relayable_seq
        batch: list[_Accepted] = []
        while self._queue and self._queue[0].seq <= relayable:
            item = self._queue.popleft()
            if isinstance(item, _Accepted):
                batch.append(item)
                continue
            self._show(batch)
            batch = []
            if isinstance(item, _Answer):
                if item.to in self._peers:
                    item.to.send(self._answer(item.request))
            elif not item.future.done():  # its waiter may have given up
                item.future.set_result(None)
        self._show(batch)
        if self._queue:
            self._gate.when_relayable(self._release)

    def _answer(self, request: bytes) -> bytes:
        reply = handle_sync_message(request[1:], self._doc)
        assert reply is not None, "sync step 1 always has a step 2 answer"
        return reply

    def _show(self, batch: list[_Accepted]) -> None:
        """Apply a run of accepted updates to the live doc and relay them, coalesced into
        messages of at most about `MAX_COALESCED_BYTES`."""
        for item in batch:
            if item.applied:
                self._relay(create_update_message(item.update), item.sender)
                self._tell_shown(item.update)
        for run in _runs([item for item in batch if not item.applied]):
            if not self._show_run(run):
                return  # the room is broken: everyone reconnects

    def _show_run(self, fresh: list[_Accepted]) -> bool:
        """Apply `fresh` to the live doc in one transaction and relay it as one message;
        False if the live doc failed."""
        if len(fresh) == 1:
            if not self._apply([fresh[0].update]):
                return False
            self._relay(create_update_message(fresh[0].update), fresh[0].sender)
            self._tell_shown(fresh[0].update)
            return True
        exclude = fresh[0].sender if all(i.sender is fresh[0].sender for i in fresh) else None
        encoded: list[bytes] = []
        wanted = self.shown is not None or any(peer is not exclude for peer in self._peers)
        subscription = (self._doc.observe(lambda event: encoded.append(event.update))
                        if wanted else None)
        try:
            applied = self._apply([item.update for item in fresh])
        finally:
            if subscription is not None:
                self._doc.unobserve(subscription)
        if applied and encoded:
            self._relay(create_update_message(encoded[0]), exclude)
            self._tell_shown(encoded[0])
        return applied

    def _tell_shown(self, update: bytes) -> None:
        if self.shown is not None:
            self.shown(update)

    def _apply(self, updates: list[bytes]) -> bool:
        try:
            with self._doc.transaction():
                for update in updates:
                    self._doc.apply_update(update)
        except BaseException as exc:
            if not isinstance(exc, Exception) and not is_rust_panic(exc):
                raise
            # The guard took each of them, so the engine should have: the live doc may now
            # hold part of them. Everyone reconnects; the room reloads from the store.
            log.exception("accepted updates failed on the live doc",
                          extra={"event": "room.apply_failed", "updates": len(updates)})
            self._on_broken()
            return False
        self._on_live_changed()
        return True

    def _relay(self, message: bytes, exclude: Peer | None) -> None:
        for peer in self._peers:
            if peer is not exclude:
                peer.send(message)


def _runs(items: list[_Accepted]) -> list[list[_Accepted]]:
    """`items` in order, cut into runs of at most `MAX_COALESCED_BYTES` of updates (an update
    larger than that is a run of its own)."""
    runs: list[list[_Accepted]] = []
    size = 0
    for item in items:
        if not runs or size + len(item.update) > MAX_COALESCED_BYTES:
            runs.append([])
            size = 0
        runs[-1].append(item)
        size += len(item.update)
    return runs
