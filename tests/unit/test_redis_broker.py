"""The Redis broker (`crdt.redis_broker`) between two brokers standing for two processes, on a
Redis of the test's own.

How they fail: a broker that delivered its own messages back to itself (no process id) fails
the first test; a broker that did not report what it dropped during an outage fails the
second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from crdt.redis_broker import RedisBroker
from tests.support.redis_server import RedisServer

Brokers = Callable[..., RedisBroker]


@pytest.fixture
async def brokers(redis_server: RedisServer) -> AsyncIterator[Brokers]:
    made: list[RedisBroker] = []

    def make(**options: float) -> RedisBroker:
        broker = RedisBroker(redis_server.url, **options)
        broker.start()
        made.append(broker)
        return broker

    try:
        yield make
    finally:
        for broker in made:
            await broker.close()


async def _connected(*brokers: RedisBroker) -> None:
    async with asyncio.timeout(10):
        while not all(b.connected for b in brokers):
            await asyncio.sleep(0.01)


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_posts_reach_other_processes_in_order_and_never_the_poster(
    brokers: Brokers,
) -> None:
    one, other = brokers(), brokers()
    await _connected(one, other)
    heard_here: list[bytes] = []
    heard_there: list[bytes] = []
    await one.subscribe("widen:doc:d", heard_here.append)
    await other.subscribe("widen:doc:d", heard_there.append)
    for n in range(100):
        one.post("widen:doc:d", str(n).encode())
    await one.publish("widen:doc:d", b"published")
    await _until(lambda: len(heard_there) == 101)
    assert heard_there == [str(n).encode() for n in range(100)] + [b"published"]
    assert heard_here == [b"published"], "a post is for the others; a publish for all"


async def test_after_redis_comes_back_the_others_hear_which_channels_lost_messages(
    brokers: Brokers, redis_server: RedisServer,
) -> None:
    one, other = brokers(), brokers()
    await _connected(one, other)
    losses: list[str | None] = []
    other.after_loss(losses.append)
    await other.subscribe("widen:doc:lost", lambda message: None)
    redis_server.kill()
    await _until(lambda: not one.connected and not other.connected)
    one.post("widen:doc:lost", b"never delivered")
    await _until(lambda: one.dropped > 0)
    await asyncio.to_thread(redis_server.start)
    # The other process repairs everything after its own outage, then that channel when told.
    await _until(lambda: None in losses and "widen:doc:lost" in losses, timeout=20)
