"""One live document: its Y.Doc, its awareness, its peers, and what flows between them.

Every incoming message goes through `Room.receive`, which either acts on it completely or
raises `ProtocolError` having changed nothing: an update is checked by the write guard first
(`crdt.quick_check`, else the guard's probe), and only then queued for the store and for the
live doc.

What other peers see of the document (relayed updates, answers to their sync step 1), and the
live doc itself, wait until the store may show it (`UpdateStore.relayable_seq`: committed,
unless storage is failing), in the order it was accepted, coalesced (`crdt.relay`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Callable
from typing import Any, Protocol

from pycrdt import (
    Array,
    Awareness,
    Doc,
    Map,
    TransactionEvent,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)

from crdt.attribution import Attribution, Credits
from crdt.depth import ShapeRefused
from crdt.guard import DECODE_ERRORS, Guard, WriteRejected, is_rust_panic
from crdt.peer import Peer
from crdt.protocol import (
    AwarenessEntry,
    AwarenessUpdate,
    CloseCode,
    Ignored,
    ProtocolError,
    QueryAwareness,
    SyncStep1,
    SyncUpdate,
    encode_awareness_update,
    parse_awareness_update,
    parse_message,
)
from crdt.quick_check import quick_verdict
from crdt.relay import Relay
from crdt.room_link import RoomLink
from crdt.shape import read_update
from crdt.update_log import StoredDocument
from crdt.updates import decode_state_vector

log = logging.getLogger("widen.room")

EMPTY_UPDATE = b"\x00\x00"
# Awareness client ids one connection may hold: a tab has one; a few allow for reloads.
MAX_AWARENESS_IDS_PER_PEER = 4
# The only colour other browsers put in their CSS: anything else could carry `url(...)`.
_COLOR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")


_generations = itertools.count(1)

# Told of every change to a document's content, with the store sequence that makes it durable
# and who made it (None: the server). Called for every accepted edit: it must be cheap.
Changed = Callable[[str, int, str | None], None]


class RoomStore(Protocol):
    """What a room needs of the storage behind it: its document's log, a place for accepted
    updates, and when those may be shown to others. One process: `crdt.store.UpdateStore`;
    several processes implement the same seam (issue 12)."""

    @property
    def relayable_seq(self) -> int:
        """Updates up to this sequence number may be shown to other clients."""

    @property
    def saturated(self) -> bool:
        """The writer is this far behind: senders should wait (`drained`)."""

    async def load(self, document_id: str) -> StoredDocument: ...

    def append(self, document_id: str, origin: str | None, data: bytes,
               claimed_clients: tuple[int, ...] = (), credits: Credits | None = None) -> int:
        """Queue an accepted update for storage; its sequence number."""

    def when_relayable(self, callback: Callable[[], None]) -> None:
        """Call `callback` once `relayable_seq` has moved."""

    async def drained(self) -> None: ...


class Room:
    def __init__(
        self,
        name: str,
        store: RoomStore,
        *,
        awareness_max_bytes: int,
        max_depth: int,
        changed: Changed | None = None,
    ) -> None:
        self.name = name
        self._changed = changed
        self.doc: Doc[Any] = Doc()
        self.awareness = Awareness(self.doc)
        # The server is no participant: it must not appear among the users present.
        self.awareness.set_local_state(None)
        self.peers: set[Peer] = set()
        self.last_seq = 0
        # Which load of the document this is, and how many changes it has had since: together
        # they name the live doc's state (for caches of what is computed from it).
        self.generation = next(_generations)
        self.version = 0
        # Roots nobody may write any more (deleted sections): set by the app.
        self.retired: frozenset[str] = frozenset()
        self.guard = Guard(max_depth=max_depth)
        # Who changed how much of which root, from each update's own content.
        self.attribution = Attribution()
        # Who owns each Yjs client id; the server's own edits use the live doc's id.
        self._client_origins: dict[int, str | None] = {self.doc.client_id: None}
        self._awareness_owners: dict[int, Peer] = {}
        self._store = store
        self._awareness_max_bytes = awareness_max_bytes
        self._awareness_changes: list[dict[str, list[int]]] = []
        self.awareness.observe(self._on_awareness)
        # The live doc failed to take accepted updates (`crdt.relay`): reload before reuse.
        self.broken = False
        self._relay_queue = Relay(self.doc, self.peers, store, self._live_changed,
                                  self._break)
        # The same document's rooms in other processes (`crdt.room_link`), if there are any;
        # the client ids claimed here since they were last told, and by whom.
        self.link: RoomLink | None = None
        self._claims_to_tell: dict[int, str | None] = {}
        # Awareness client ids held by connections to other processes.
        self._remote_awareness: set[int] = set()

    def linked(self, link: RoomLink) -> None:
        """From now on, what goes live here is told to the other processes' rooms."""
        self.link = link
        self._relay_queue.shown = self._shown
        self._claims_to_tell[self.doc.client_id] = None  # the server's own edits

    def _shown(self, update: bytes) -> None:
        assert self.link is not None
        claims, self._claims_to_tell = self._claims_to_tell, {}
        self.link.shown(update, claims)

    def apply_remote(self, update: bytes, claims: dict[int, str | None]) -> None:
        """Take an update another process's room committed and applied (or that the database
        holds and this room missed): nothing to check or store, only to make live here and
        show this room's peers what is new in it."""
        for client_id, origin in claims.items():
            self._client_origins.setdefault(client_id, origin)
        # What was accepted here and is not live yet goes first, so that what is new in
        # `update` is measured against everything this room holds.
        self._relay_queue.apply_all()
        new: list[bytes] = []
        subscription = self.doc.observe(lambda event: new.append(event.update))
        try:
            with self.doc.transaction():
                self.doc.apply_update(update)
        except BaseException as exc:
            if not isinstance(exc, Exception) and not is_rust_panic(exc):
                raise
            log.exception("an update from another process failed on the live doc",
                          extra={"event": "room.remote_apply_failed", "room": self.name})
            self._break()
            return
        finally:
            self.doc.unobserve(subscription)
        if not new or new[0] == EMPTY_UPDATE:
            return
        self.version += 1
        self.guard.passed(new[0])
        try:
            self.attribution.credit(read_update(new[0], self.guard.max_depth, strings=True),
                                    None)
        except ShapeRefused:
            # Deeper than this process allows (another process runs other settings): the
            # index cannot place it, so the probe judges every update from now on.
            log.warning("an update from another process is beyond this one's depth bound",
                        extra={"event": "room.remote_too_deep", "room": self.name})
            self.attribution = Attribution()
            self.attribution.load(self.doc.get_update())
        self._relay(create_update_message(new[0]), exclude=None)

    def lacks(self, state_vector: dict[int, int]) -> bool:
        known = decode_state_vector(self.doc.get_state())
        return any(clock > max(known.get(client_id, 0), self.attribution.known_end(client_id))
                   for client_id, clock in state_vector.items())

    def apply_remote_awareness(self, payload: bytes) -> None:
        """Awareness states of another process's connections, already bound to their
        senders: held here for this room's peers, never writable by them."""
        entries = parse_awareness_update(payload)
        for entry in entries:
            if entry.state is None:
                self._remote_awareness.discard(entry.client_id)
            elif entry.client_id not in self._awareness_owners:
                self._remote_awareness.add(entry.client_id)
        self.awareness.apply_awareness_update(payload, "remote")
        changed = self._consume_awareness_changes()
        ids = sorted({i for c in changed for key in ("added", "updated", "removed")
                      for i in c[key]})
        if ids:
            self._relay(self._awareness_message(ids), exclude=None)

    async def load(self) -> None:
        """Apply the stored log, in a thread: a long one takes seconds, and on the event loop
        every other room and request waited meanwhile. Nobody touches the doc until this
        returns (joiners await the load; `Rooms.get` hides a room still loading)."""
        stored = await self._store.load(self.name)
        await asyncio.to_thread(self._apply_rows, stored.updates)
        await asyncio.to_thread(self._index_state)
        self._client_origins.update(stored.client_origins)

    def _apply_rows(self, rows: list[bytes]) -> None:
        # Row by row rather than merged first, for the reason `_apply` relays unmerged.
        for row in rows:
            self.doc.apply_update(row)

    def _index_state(self) -> None:
        self.attribution.load(self.doc.get_update())

    @property
    def store_saturated(self) -> bool:
        """The store is this far behind: a sender's next message waits (`store_drained`)."""
        return self._store.saturated

    async def store_drained(self) -> None:
        await self._store.drained()

    def add(self, peer: Peer) -> None:
        """Start the y-websocket handshake: our state vector, then who is here."""
        self.peers.add(peer)
        peer.send(create_sync_message(self.doc))
        if self.awareness.states:
            peer.send(self._awareness_message(list(self.awareness.states)))

    def remove(self, peer: Peer) -> None:
        self.peers.discard(peer)
        if peer.awareness_client_ids:
            gone = sorted(peer.awareness_client_ids)
            for client_id in gone:
                self._awareness_owners.pop(client_id, None)
            self.awareness.remove_awareness_states(gone, peer)
            self._consume_awareness_changes()
            self._awareness_changed(gone, exclude=peer)

    def receive(self, peer: Peer, data: bytes) -> None:
        if peer.closing:
            return  # revoked or refused: whatever it still sends is not acted on
        message = parse_message(data)
        match message:
            case SyncStep1():
                self._check_step1(data)
                self._relay_queue.answer(self.last_seq, data, peer)
            case SyncUpdate(update):
                self._apply(peer, update)
            case AwarenessUpdate(payload):
                self._apply_awareness(peer, payload)
            case QueryAwareness():
                if self.awareness.states:
                    peer.send(self._awareness_message(list(self.awareness.states)))
            case Ignored():
                pass

    def close_all(self, code: int, reason: str) -> None:
        for peer in list(self.peers):
            peer.close(code, reason)

    @staticmethod
    def _check_step1(data: bytes) -> None:
        """Refuse a state vector the engine cannot read now: it is answered later."""
        try:
            handle_sync_message(data[1:], Doc())
        except DECODE_ERRORS as exc:
            raise ProtocolError("invalid state vector", CloseCode.UNSUPPORTED_DATA) from exc

    def _live_changed(self) -> None:
        self.version += 1

    def _break(self) -> None:
        self.broken = True
        self.guard.reset()
        self.close_all(CloseCode.TRY_AGAIN_LATER, "try-later: the document is being reloaded")

    def edit(self, change: Callable[[Doc[Any]], object], origin: str | None) -> None:
        """Change the live doc on the server's own account (e.g. emptying a deleted section),
        and store and relay that change like any client's. Everything accepted so far goes
        into the live doc first: the change applies to all of it."""
        self._relay_queue.apply_all()
        updates: list[bytes] = []

        def capture(event: TransactionEvent) -> None:
            updates.append(event.update)

        subscription = self.doc.observe(capture)
        try:
            with self.doc.transaction():
                change(self.doc)
        finally:
            self.doc.unobserve(subscription)
        self.guard.reset()
        self.version += 1
        for update in updates:
            if update != EMPTY_UPDATE:
                credits = self.attribution.credit(
                    read_update(update, self.guard.max_depth, strings=True), origin)
                self.last_seq = self._store.append(self.name, origin, update, credits=credits)
                self._relay_queue.accepted(self.last_seq, update, None, applied=True)
                self._tell_changed(origin)

    def clear_root(self, name: str, origin: str | None) -> None:
        """Delete everything in a root, whichever kind of type its writers made it."""
        self._relay_queue.apply_all()
        if name in set(self.doc.keys()):
            self.edit(lambda doc: empty_root(doc, name), origin)

    def _apply(self, peer: Peer, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return
        # Read before anything decodes it: the engine's decoder recurses into nested values.
        try:
            shape = read_update(update, self.guard.max_depth, strings=True)
        except ShapeRefused as exc:
            raise ProtocolError(exc.reason, CloseCode.UNSUPPORTED_DATA) from exc
        claimed = self._claim_client_ids(peer, shape.clocks)
        verdict = quick_verdict(shape, peer.scope, self.retired, self.attribution)
        if verdict is None:
            verdict = self.guard.check(update, peer.scope, self.doc, self.retired,
                                       not_live=self._relay_queue.unapplied)
        elif verdict:
            self.guard.passed(update)
        if not verdict:
            return  # nothing the server lacks: no write, nothing to store or relay
        for client_id in claimed:
            self._client_origins[client_id] = peer.origin
            if self.link is not None:
                self._claims_to_tell[client_id] = peer.origin
        credits = self.attribution.credit(shape, peer.origin)
        self.last_seq = self._store.append(self.name, peer.origin, update, claimed, credits)
        self._relay_queue.accepted(self.last_seq, update, peer)
        self._tell_changed(peer.origin)

    def _tell_changed(self, origin: str | None) -> None:
        if self._changed is not None:
            self._changed(self.name, self.last_seq, origin)

    def _claim_client_ids(self, peer: Peer,
                          clocks: dict[int, tuple[int, int]]) -> tuple[int, ...]:
        """The client ids under which an update (whose clock ranges are `clocks`) writes new
        content and that nobody owns yet.

        Raises if it writes new content under an id that belongs to another user: that could
        take clocks its owner is about to use, and then the owner's own edits would not apply.
        Content the server already holds may come from anyone (a reconnecting client resends
        what it received)."""
        claimed: list[int] = []
        known: dict[int, int] | None = None
        for client_id, (_start, end) in clocks.items():
            owned = client_id in self._client_origins
            if owned and self._client_origins[client_id] == peer.origin:
                continue
            if known is None:
                known = decode_state_vector(self.doc.get_state())
            # The live doc, or what was accepted and is not live yet (the index has it).
            if end <= max(known.get(client_id, 0), self.attribution.known_end(client_id)):
                continue  # nothing new under this id
            if owned:
                raise WriteRejected("foreign-client-id: that Yjs client id belongs to another "
                                    "user; start a new Y.Doc")
            claimed.append(client_id)
        return tuple(claimed)

    async def settle(self, peer: Peer) -> None:
        """Wait until every answer owed to `peer` for what it sent so far has gone out (they
        wait for their content to be committed). Before a refusal closes a connection: its
        client then learns the outcome of each message it sent, in order."""
        await self._relay_queue.settle(peer, self.last_seq)

    def _relay(self, message: bytes, exclude: Peer | None) -> None:
        for other in self.peers:
            if other is not exclude:
                other.send(message)

    def _apply_awareness(self, peer: Peer, payload: bytes) -> None:
        if len(payload) > self._awareness_max_bytes:
            log.info("oversized awareness update dropped",
                     extra={"event": "awareness.dropped", "room": self.name,
                            "bytes": len(payload)})
            return
        # Decoded whole first: pycrdt applies entry by entry and would keep a partial update.
        entries: list[AwarenessEntry] = []
        # New ids count against the cap within one message too, not only across messages.
        claims_left = MAX_AWARENESS_IDS_PER_PEER - len(peer.awareness_client_ids)
        for entry in parse_awareness_update(payload):
            new_claim = entry.client_id not in self._awareness_owners
            bound = self._bind_awareness(peer, entry, claims_left)
            if bound is not None:
                entries.append(bound)
                claims_left -= new_claim
        if not entries:
            return
        self.awareness.apply_awareness_update(encode_awareness_update(entries), peer)
        changed = self._consume_awareness_changes()
        for change in changed:
            for client_id in (*change["added"], *change["updated"]):
                peer.awareness_client_ids.add(client_id)
                self._awareness_owners[client_id] = peer
            for client_id in change["removed"]:
                peer.awareness_client_ids.discard(client_id)
                self._awareness_owners.pop(client_id, None)
        ids = sorted({i for c in changed for key in ("added", "updated", "removed")
                      for i in c[key]})
        if ids:
            self._awareness_changed(ids, exclude=peer)

    def _awareness_changed(self, client_ids: list[int], exclude: Peer) -> None:
        """Tell this room's other peers, and the other processes' rooms."""
        payload = self.awareness.encode_awareness_update(client_ids)
        self._relay(create_awareness_message(payload), exclude=exclude)
        if self.link is not None:
            self.link.awareness(payload)

    def _bind_awareness(self, peer: Peer, entry: AwarenessEntry,
                        claims_left: int) -> AwarenessEntry | None:
        """Keep an entry only if it is this peer's own, with the server's identity in it."""
        owner = self._awareness_owners.get(entry.client_id)
        if (owner is not None and owner is not peer) or entry.client_id in self._remote_awareness:
            log.info("awareness entry for another connection dropped",
                     extra={"event": "awareness.spoof_dropped", "room": self.name,
                            "peer": peer.label})
            return None
        if owner is None and (entry.state is None or claims_left <= 0):
            return None
        if entry.state is None or peer.identity is None:
            return entry
        return AwarenessEntry(entry.client_id, entry.clock,
                              {**entry.state, "user": _bound_user(entry.state, peer.identity)})

    def _on_awareness(self, topic: str, event: tuple[dict[str, list[int]], Any]) -> None:
        if topic == "update":
            self._awareness_changes.append(event[0])

    def _consume_awareness_changes(self) -> list[dict[str, list[int]]]:
        changes, self._awareness_changes = self._awareness_changes, []
        return changes

    def _awareness_message(self, client_ids: list[int]) -> bytes:
        return create_awareness_message(self.awareness.encode_awareness_update(client_ids))


def empty_root(doc: Doc[Any], name: str) -> None:
    """Delete everything in root `name` of `doc`, whichever kind of type its writers made it
    (a sequence, a map, or both), inside the caller's transaction if it holds one."""
    sequence = doc.get(name, type=Array)
    if len(sequence):
        del sequence[0:len(sequence)]
    entries = doc.get(name, type=Map)
    for key in list(entries.keys()):
        del entries[key]


def _bound_user(state: dict[str, object], identity: dict[str, str]) -> dict[str, object]:
    """The `user` field other browsers render: the server's identity, and a colour only if
    it is a plain hex colour (it goes into their CSS). Nothing else the client put there."""
    sent = state.get("user")
    user: dict[str, object] = dict(identity)
    color = sent.get("color") if isinstance(sent, dict) else None
    if isinstance(color, str) and _COLOR.fullmatch(color):
        user["color"] = color
    return user
