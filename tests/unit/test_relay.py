"""A room's relay: what the store holds back goes out coalesced, in order, and complete.

The store is replaced by `HeldGate`, a stand-in whose commit the test releases by hand (the
real writer commits on its own schedule, which a test cannot hold still); peers are real
`Peer`s over a channel that records what it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Text, create_sync_message, create_update_message

from crdt.peer import MAX_QUEUED_BYTES, Peer
from crdt.protocol import SyncUpdate, parse_message
from crdt.relay import Relay
from crdt.room import Room

DEPTH = 64


class HeldGate:
    """The store's seam, committing only when told (`commit`)."""

    def __init__(self) -> None:
        self.relayable_seq = 0
        self.saturated = False
        self.seq = 0
        self.waiters: list[Callable[[], None]] = []

    async def load(self, document_id: str) -> Any:
        raise AssertionError("not loaded in these tests")

    def append(self, document_id: str, origin: str | None, data: bytes,
               claimed_clients: tuple[int, ...] = (), credits: object = None) -> int:
        self.seq += 1
        return self.seq

    def when_relayable(self, callback: Callable[[], None]) -> None:
        self.waiters.append(callback)

    async def drained(self) -> None:
        return None

    def commit(self) -> None:
        self.relayable_seq = self.seq
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter()


class Recorder:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_now(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    async def send(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int, reason: str) -> None:
        return None


def _typing(text: str) -> list[bytes]:
    """One update per character, as a browser sends them."""
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    root = doc.get("text", type=Text)
    for character in text:
        root.insert(len(root), character)
    return updates


def _texts_seen(messages: list[bytes]) -> tuple[str, int]:
    """The text a client holding nothing would have after these messages, and how many
    update messages there were."""
    doc: Doc[Any] = Doc()
    updates = 0
    for message in messages:
        parsed = parse_message(message)
        if isinstance(parsed, SyncUpdate):
            updates += 1
            doc.apply_update(parsed.update)
    return str(doc.get("text", type=Text)), updates


async def _room_with(peers: int) -> tuple[Room, HeldGate, list[Peer], list[Recorder]]:
    gate = HeldGate()
    room = Room("doc", gate, awareness_max_bytes=10_000, max_depth=DEPTH)
    channels = [Recorder() for _ in range(peers)]
    members = [Peer(channel, f"user-{i}", label=str(i)) for i, channel in enumerate(channels)]
    for member in members:
        room.peers.add(member)
    return room, gate, members, channels


async def _drain() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_what_one_commit_carries_reaches_each_peer_as_one_message() -> None:
    room, gate, members, channels = await _room_with(3)
    for sender, text in ((members[0], "abc"), (members[1], "xyz")):
        for update in _typing(text):
            room.receive(sender, create_update_message(update))
    await _drain()
    assert all(not channel.sent for channel in channels), "nothing shows before the commit"
    assert str(room.doc.get("text", type=Text)) == "", "nor is it in the live doc"

    gate.commit()
    await _drain()
    for channel in channels:
        text, updates = _texts_seen(channel.sent)
        assert updates == 1
        assert sorted(text) == sorted("abcxyz")
    assert sorted(str(room.doc.get("text", type=Text))) == sorted("abcxyz")


async def test_one_senders_run_skips_its_sender_and_an_answer_splits_runs() -> None:
    room, gate, members, channels = await _room_with(3)
    first, second = _typing("ab"), _typing("cd")
    for update in first:
        room.receive(members[0], create_update_message(update))
    # A newcomer's sync step 1 between the two runs: its answer shows the first run only.
    room.receive(members[2], create_sync_message(Doc()))
    for update in second:
        room.receive(members[1], create_update_message(update))
    gate.commit()
    await _drain()

    assert channels[0].sent and _texts_seen(channels[0].sent) == ("cd", 1)
    # Member 2: the first run, then the answer (a sync step 2 holding it), then the second.
    parsed = [parse_message(m) for m in channels[2].sent]
    assert [isinstance(p, SyncUpdate) and p.is_step2 for p in parsed] == [False, True, False]
    answer = parsed[1]
    assert isinstance(answer, SyncUpdate)
    doc: Doc[Any] = Doc()
    doc.apply_update(answer.update)
    assert str(doc.get("text", type=Text)) == "ab"


async def test_a_lone_writer_is_live_at_once_and_asks_for_no_commit() -> None:
    room, gate, members, channels = await _room_with(1)
    for update in _typing("solo"):
        room.receive(members[0], create_update_message(update))
    assert str(room.doc.get("text", type=Text)) == "solo"
    assert not gate.waiters
    assert not channels[0].sent


async def test_a_run_whose_sender_left_still_reaches_the_others() -> None:
    """A sender closed for flooding, say, before its accepted edits were committed."""
    room, gate, members, channels = await _room_with(2)
    for update in _typing("left"):
        room.receive(members[0], create_update_message(update))
    room.remove(members[0])
    gate.commit()
    await _drain()
    assert _texts_seen(channels[1].sent) == ("left", 1)


async def test_updates_the_live_doc_cannot_take_break_the_room_and_reach_nobody() -> None:
    """The guard should never let such an update through; if the engine refuses one all the
    same, the room closes everyone (1013) to reload from the store rather than relay it."""
    room, gate, members, channels = await _room_with(2)
    breaks: list[str] = []
    relay = Relay(room.doc, room.peers, gate, lambda: None, lambda: breaks.append("broken"))
    relay.accepted(gate.append("doc", "user-0", b"\x01\x02garbage"), b"\x01\x02garbage",
                   members[0])
    relay.accepted(gate.append("doc", "user-0", b"\x01"), b"\x01", members[0])
    gate.commit()
    await _drain()
    assert breaks == ["broken"]
    assert not channels[1].sent




async def test_a_large_commit_goes_out_in_messages_well_under_a_peers_bound() -> None:
    """A peer writes a message straight to its transport when nothing is queued, whatever its
    size: a commit of many pastes relayed as one message slipped past a stalled peer's bound
    (`MAX_QUEUED_BYTES`). Coalescing stops well short of it, and nothing is lost."""
    room, gate, members, channels = await _room_with(2)
    doc: Doc[Any] = Doc()
    pastes: list[bytes] = []
    doc.observe(lambda event: pastes.append(event.update))
    root = doc.get("text", type=Text)
    for index in range(30):
        root.insert(len(root), chr(ord("a") + index % 26) * 300_000)
    assert sum(len(update) for update in pastes) > MAX_QUEUED_BYTES
    for update in pastes:
        room.receive(members[0], create_update_message(update))
    await _drain()
    assert not channels[1].sent
    gate.commit()
    await _drain()

    text, updates = _texts_seen(channels[1].sent)
    assert text == str(root)
    assert max(len(message) for message in channels[1].sent) <= MAX_QUEUED_BYTES // 4
    assert updates < len(pastes), "pastes are still coalesced, a few at a time"
