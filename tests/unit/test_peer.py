"""A peer writes straight to its transport while it can, queues behind anything that waits,
and closes a transport that stalls without waiting for it."""

from __future__ import annotations

import asyncio

from crdt.peer import Peer
from crdt.protocol import CloseCode


class Transport:
    """Takes writes at once while `open_now`; an awaited send waits for `drained`."""

    def __init__(self) -> None:
        self.open_now = True
        self.drained = asyncio.Event()
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    def send_now(self, data: bytes) -> bool:
        if self.open_now:
            self.sent.append(data)
        return self.open_now

    async def send(self, data: bytes) -> None:
        await self.drained.wait()
        self.sent.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_messages_go_out_at_once_while_the_transport_takes_them() -> None:
    transport = Transport()
    peer = Peer(transport, "user")
    peer.send(b"one")
    peer.send(b"two")
    # No task switch: the transport has them before the sender yields.
    assert transport.sent == [b"one", b"two"]


async def test_nothing_overtakes_what_waits_for_a_full_transport() -> None:
    transport = Transport()
    peer = Peer(transport, "user")
    peer.send(b"1")
    transport.open_now = False
    peer.send(b"2")
    peer.send(b"3")
    transport.open_now = True  # could take a write again, but 2 and 3 are still queued
    peer.send(b"4")
    assert transport.sent == [b"1"]
    transport.drained.set()
    async with asyncio.timeout(5):
        while len(transport.sent) < 4:
            await asyncio.sleep(0)
    assert transport.sent == [b"1", b"2", b"3", b"4"]
    peer.send(b"5")  # the queue is empty again: straight out
    assert transport.sent[-1] == b"5"


async def test_a_stalled_transport_is_closed_with_1013_without_waiting_for_it() -> None:
    transport = Transport()
    transport.open_now = False
    peer = Peer(transport, "user", max_queued=4)
    for index in range(5):
        peer.send(str(index).encode())
    assert peer.closing
    async with asyncio.timeout(5):
        await peer.wait_closed()  # the transport never drains: the close does not wait
    assert transport.sent == []
    assert transport.closed is not None
    code, reason = transport.closed
    assert code == CloseCode.TRY_AGAIN_LATER and reason.startswith("try-later")


async def test_a_close_goes_out_after_what_was_queued_before_it() -> None:
    transport = Transport()
    transport.open_now = False
    peer = Peer(transport, "user")
    peer.deny(4403, "read-only: you may not write here")
    peer.send(b"after the close")  # dropped: the peer is closing
    transport.drained.set()
    async with asyncio.timeout(5):
        await peer.wait_closed()
    assert len(transport.sent) == 1 and b"read-only" in transport.sent[0]
    assert transport.closed == (4403, "read-only: you may not write here")
