"""The broker seam (`crdt/broker.py`) and the bound on what one live channel may have queued.

The slow client is a stand-in transport whose sends never complete (named as such: a real
socket needs megabytes of unread events before its send blocks)."""

from __future__ import annotations

import asyncio

from crdt.broker import InProcessBroker
from crdt.peer import Peer
from crdt.protocol import CloseCode


async def test_subscribers_of_a_channel_get_its_messages_in_order_until_they_leave() -> None:
    broker = InProcessBroker()
    first: list[bytes] = []
    second: list[bytes] = []
    one = await broker.subscribe("widen:user:a", first.append)
    await broker.subscribe("widen:user:a", second.append)
    await broker.subscribe("widen:user:b", lambda m: first.append(b"wrong channel"))
    await broker.publish("widen:user:a", b"1")
    await broker.publish("widen:user:a", b"2")
    await one.close()
    await broker.publish("widen:user:a", b"3")
    assert first == [b"1", b"2"]
    assert second == [b"1", b"2", b"3"]
    assert broker.subscriptions == 2
    await one.close()  # closing twice changes nothing
    assert broker.subscriptions == 2


class StalledClient:
    """A stand-in transport that never finishes a send, like a client that stopped reading."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None
        self.release = asyncio.Event()

    def send_now(self, data: bytes) -> bool:
        return False  # stalled: nothing can be written at once

    async def send(self, data: bytes) -> None:
        self.sent.append(data)
        await self.release.wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_a_channel_that_falls_behind_is_closed_with_1013_not_buffered() -> None:
    broker = InProcessBroker()
    client = StalledClient()
    peer = Peer(client, origin="user", label="events-test", max_queued=8)
    await broker.subscribe("widen:user:user", peer.send)
    await broker.publish("widen:user:user", b"0")
    async with asyncio.timeout(5):
        while not client.sent:  # the client is now stuck receiving the first event
            await asyncio.sleep(0)
    for index in range(1, 100):
        await broker.publish("widen:user:user", str(index).encode())
    assert peer.closing
    client.release.set()
    async with asyncio.timeout(5):
        await peer.wait_closed()
    # The one send in flight went out; nothing queued behind it did, and it never grew.
    assert client.sent == [b"0"]
    assert client.closed is not None
    code, reason = client.closed
    assert code == CloseCode.TRY_AGAIN_LATER and reason.startswith("try-later")


async def test_a_peer_that_falls_behind_by_bytes_is_closed_with_1013_however_few_messages() -> None:
    """Four large updates are far under the message bound and over the byte bound."""
    client = StalledClient()
    peer = Peer(client, origin="user", label="bytes-test", max_queued_bytes=1_000_000)
    peer.send(b"0")
    async with asyncio.timeout(5):
        while not client.sent:
            await asyncio.sleep(0)
    for _ in range(3):
        peer.send(bytes(300_000))
    assert not peer.closing, "900 kB queued is within the bound"
    peer.send(bytes(300_000))
    assert peer.closing
    client.release.set()
    async with asyncio.timeout(5):
        await peer.wait_closed()
    assert client.sent == [b"0"]
    assert client.closed is not None and client.closed[0] == CloseCode.TRY_AGAIN_LATER
