"""One live document: its Y.Doc, its awareness, its peers, and what flows between them.

Every incoming message goes through `Room.receive`, which either acts on it completely or
raises `ProtocolError` having changed nothing: an update is checked on the guard's probe first,
and only then applied to the live doc, queued for the store and relayed to the other peers.
"""

from __future__ import annotations

import logging
from typing import Any

from pycrdt import (
    Awareness,
    Doc,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)

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
from crdt.store import UpdateStore

log = logging.getLogger("widen.room")

EMPTY_UPDATE = b"\x00\x00"
# Awareness client ids one connection may hold: a tab has one; a few allow for reloads.
MAX_AWARENESS_IDS_PER_PEER = 4
class Room:
    def __init__(
        self,
        name: str,
        store: UpdateStore,
        *,
        awareness_max_bytes: int,
    ) -> None:
        self.name = name
        self.doc = Doc()
        self.awareness = Awareness(self.doc)
        # The server is no participant: it must not appear among the users present.
        self.awareness.set_local_state(None)
        self.peers: set[Peer] = set()
        self.last_seq = 0
        self.guard = Guard()
        self._awareness_owners: dict[int, Peer] = {}
        self._store = store
        self._awareness_max_bytes = awareness_max_bytes
        self._awareness_changes: list[dict[str, list[int]]] = []
        self.awareness.observe(self._on_awareness)

    async def load(self) -> None:
        # Row by row rather than merged first, for the reason `_apply` relays unmerged.
        for row in await self._store.load(self.name):
            self.doc.apply_update(row)

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
            self._relay(self._awareness_message(gone), exclude=peer)

    def receive(self, peer: Peer, data: bytes) -> None:
        if peer.closing:
            return  # revoked or refused: whatever it still sends is not acted on
        message = parse_message(data)
        match message:
            case SyncStep1():
                peer.send(self._answer_step1(data))
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

    def _answer_step1(self, data: bytes) -> bytes:
        try:
            reply = handle_sync_message(data[1:], self.doc)
        except DECODE_ERRORS as exc:
            raise ProtocolError("invalid state vector", CloseCode.UNSUPPORTED_DATA) from exc
        assert reply is not None, "sync step 1 always has a step 2 answer"
        return reply

    def _apply(self, peer: Peer, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return
        scope = peer.scope
        if scope.read_only:
            raise WriteRejected("read-only access")
        self.guard.check(update, scope, self.doc)
        try:
            self.doc.apply_update(update)
        except BaseException as exc:
            # The probe took it, so the live doc should have: they differ, start over.
            self.guard.reset()
            if isinstance(exc, DECODE_ERRORS) or is_rust_panic(exc):
                raise ProtocolError("update rejected by the CRDT engine",
                                    CloseCode.UNSUPPORTED_DATA) from exc
            raise
        self.last_seq = self._store.append(self.name, peer.origin, update)
        # Relayed as received, never merged with others: yrs's merge_updates can turn
        # individually valid updates into bytes no client decodes, or into different content.
        self._relay(create_update_message(update), exclude=peer)

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
        entries = [bound for entry in parse_awareness_update(payload)
                   if (bound := self._bind_awareness(peer, entry)) is not None]
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
            self._relay(self._awareness_message(ids), exclude=peer)

    def _bind_awareness(self, peer: Peer, entry: AwarenessEntry) -> AwarenessEntry | None:
        """Keep an entry only if it is this peer's own, with the server's identity in it."""
        owner = self._awareness_owners.get(entry.client_id)
        if owner is not None and owner is not peer:
            log.info("awareness entry for another connection dropped",
                     extra={"event": "awareness.spoof_dropped", "room": self.name,
                            "peer": peer.label})
            return None
        if owner is None and (entry.state is None or
                              len(peer.awareness_client_ids) >= MAX_AWARENESS_IDS_PER_PEER):
            return None
        if entry.state is None or peer.identity is None:
            return entry
        user = entry.state.get("user")
        user = {**user, **peer.identity} if isinstance(user, dict) else dict(peer.identity)
        return AwarenessEntry(entry.client_id, entry.clock, {**entry.state, "user": user})

    def _on_awareness(self, topic: str, event: tuple[dict[str, list[int]], Any]) -> None:
        if topic == "update":
            self._awareness_changes.append(event[0])

    def _consume_awareness_changes(self) -> list[dict[str, list[int]]]:
        changes, self._awareness_changes = self._awareness_changes, []
        return changes

    def _awareness_message(self, client_ids: list[int]) -> bytes:
        return create_awareness_message(self.awareness.encode_awareness_update(client_ids))
