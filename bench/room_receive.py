"""What one keystroke costs in `Room.receive`: the guard, attribution, the relay, the sends.

Usage: .venv/bin/python bench/room_receive.py [--updates 20000] [--peers 5] [--scoped]
       [--profile]

No network and no database: the store is `InstantStore`, a stand-in that makes every update
relayable at once (what the room asks of the real writer, without its thread), and the peers'
channels drop what they are sent. So this measures the room's own Python per edit, the part
issue 11 calls "ours", apart from the websocket stack and SQLite. Prints microseconds per
update; `--profile` adds cProfile's top functions. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections.abc import Callable
from typing import Any

from crdt.guard import WriteScope
from crdt.peer import Peer
from crdt.room import Room
from pycrdt import Doc, Text, create_update_message


class InstantStore:
    """Every appended update is relayable at once."""

    relayable_seq = 1 << 62
    saturated = False

    def __init__(self) -> None:
        self.seq = 0

    async def load(self, document_id: str) -> Any:
        raise NotImplementedError("the bench room starts empty")

    def append(self, document_id: str, origin: str | None, data: bytes,
               claimed_clients: tuple[int, ...] = (), credits: object = None) -> int:
        self.seq += 1
        return self.seq

    def when_relayable(self, callback: Callable[[], None]) -> None:
        callback()

    async def drained(self) -> None:
        return None


class DroppingChannel:
    def send_now(self, data: bytes) -> bool:
        return True

    async def send(self, data: bytes) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        return None


def keystrokes(count: int) -> list[bytes]:
    """`count` one-character updates, as a browser sends them while typing."""
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("text", type=Text)
    for index in range(count):
        text.insert(len(text), "ab "[index % 3])
    return [create_update_message(update) for update in updates]


async def measure(messages: list[bytes], peers: int, scoped: bool) -> float:
    room = Room("bench", InstantStore(), awareness_max_bytes=10_000, max_depth=32)
    scope = WriteScope.only({"text"}) if scoped else WriteScope.everything()
    members = [Peer(DroppingChannel(), f"user-{i}", scope=scope, label=str(i))
               for i in range(peers)]
    room.peers.update(members)
    started = time.perf_counter()
    for index, message in enumerate(messages):
        room.receive(members[0], message)
        if index % 500 == 0:
            await asyncio.sleep(0)  # let the peers' senders drain
    return (time.perf_counter() - started) / len(messages) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--peers", type=int, default=5)
    parser.add_argument("--scoped", action="store_true", help="a section editor's scope")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    messages = keystrokes(args.updates)
    runs = [asyncio.run(measure(messages, args.peers, args.scoped)) for _ in range(3)]
    print(f"Room.receive, {args.updates:,} keystrokes, {args.peers} peers, "
          f"{'scoped' if args.scoped else 'whole-document'} writer: "
          f"{min(runs):.1f} / {sorted(runs)[1]:.1f} / {max(runs):.1f} us per update "
          f"(min / median / max of 3 runs)")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(asyncio.run, measure(messages, args.peers, args.scoped))
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
