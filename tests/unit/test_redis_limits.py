"""The limits kept in Redis (issue 12), against a real redis-server of the test's own; several
clients stand for several server processes (tests/cluster runs real ones).

How they fail: counted in memory (as before), a hit through one client is not seen through
another; without the TTL in each field, a killed process's sockets count for ever; without
the guard's pause and its spacing of warnings, every call during an outage logs one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from app.connection_count import SharedConnectionCount
from app.connections import Connections
from app.ratelimit import LimitUnavailable, SlidingWindowLimit, WindowLimit
from app.redis_guard import (
    CALL_BOUND,
    PAUSE_SECONDS,
    WARN_EVERY_SECONDS,
    RedisGuard,
    redis_client,
)
from app.redis_limit import RedisWindowLimit
from app.settings import Settings
from crdt.peer import Peer
from tests.support.redis_server import RedisServer
from tests.support.server import ROOT

MakeClient = Callable[[], Redis]


@pytest.fixture
async def clients(redis_server: RedisServer) -> AsyncIterator[MakeClient]:
    """New clients of the test's Redis, made as a server process makes its one."""
    made: list[Redis] = []

    def make() -> Redis:
        client = redis_client(Settings(redis_url=redis_server.url))
        assert client is not None
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def _limit(redis: Redis, name: str, limit: int, window: float, *,
           fail_open: bool = False) -> RedisWindowLimit:
    return RedisWindowLimit(RedisGuard(redis, consequence="test"), name, limit, window,
                            fail_open=fail_open)


async def _eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.02)


class _Nowhere:
    def send_now(self, data: bytes) -> bool:
        return True  # taken, and dropped: see `send`

    async def send(self, data: bytes) -> None:
        """These sockets lead nowhere: only their count matters."""

    async def close(self, code: int, reason: str) -> None:
        """See `send`."""


async def test_hits_through_every_process_count_together(clients: MakeClient) -> None:
    first, second = (_limit(clients(), "login-pair", 3, 60) for _ in range(2))
    await first.hit("alice@example.org\n10.0.0.1")
    await second.hit("alice@example.org\n10.0.0.1")
    assert await first.retry_after("alice@example.org\n10.0.0.1") is None
    await first.hit("alice@example.org\n10.0.0.1")
    wait = await second.retry_after("alice@example.org\n10.0.0.1")
    assert wait is not None and 59 < wait <= 60
    # Other keys, and other limits on the same key, count apart.
    assert await second.retry_after("alice@example.org\n10.0.0.2") is None
    other = _limit(clients(), "registrations", 3, 60)
    assert await other.retry_after("alice@example.org\n10.0.0.1") is None
    await second.forget("alice@example.org\n10.0.0.1")
    assert await first.retry_after("alice@example.org\n10.0.0.1") is None


async def test_the_window_slides_as_the_in_memory_one_does(clients: MakeClient) -> None:
    """Both refuse the third hit within the window, until the first hit leaves it."""
    limits: list[WindowLimit] = [_limit(clients(), "slide", 2, 0.5),
                                 SlidingWindowLimit(2, 0.5)]
    for limit in limits:
        await limit.hit("k")
        await asyncio.sleep(0.2)
        await limit.hit("k")
        wait = await limit.retry_after("k")
        assert wait is not None and 0 < wait <= 0.31
        await asyncio.sleep(wait)

        async def free(limit: WindowLimit = limit) -> bool:
            return await limit.retry_after("k") is None

        await _eventually(free, timeout=1)
        await limit.hit("k")
        wait = await limit.retry_after("k")
        assert wait is not None and 0.1 < wait <= 0.5


async def test_redis_holds_a_bounded_amount_per_key_and_forgets_it(clients: MakeClient) -> None:
    raw = clients()
    limit = _limit(clients(), "registrations", 3, 60)
    for _ in range(10):
        await limit.hit("203.0.113.9")
    keys = [key async for key in raw.scan_iter("widen:*")]
    assert keys == [limit.key("203.0.113.9").encode()]
    assert keys[0].startswith(b"widen:limit:registrations:") and b"203.0.113" not in keys[0]
    assert await raw.zcard(keys[0]) == 3
    assert 0 < await raw.pttl(keys[0]) <= 60_000

    brief = _limit(clients(), "brief", 3, 0.2)
    await brief.hit("k")

    async def gone() -> bool:
        return not await raw.exists(brief.key("k"))

    await _eventually(gone, timeout=2)


async def test_a_limit_of_zero_counts_nothing(clients: MakeClient) -> None:
    raw = clients()
    off = _limit(clients(), "off", 0, 60)
    for _ in range(5):
        await off.hit("k")
    assert await off.retry_after("k") is None
    assert await raw.dbsize() == 0


async def test_with_redis_away_closed_limits_refuse_and_open_ones_let_through(
    clients: MakeClient, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="widen.redis")
    now = [0.0]
    guard = RedisGuard(clients(), consequence="test", clock=lambda: now[0])
    closed = RedisWindowLimit(guard, "closed", 2, 60, fail_open=False)
    opened = RedisWindowLimit(guard, "opened", 2, 60, fail_open=True)
    for limit in (closed, opened):
        await limit.hit("k")
        await limit.hit("k")
        assert await limit.retry_after("k") is not None

    redis_server.kill()
    with pytest.raises(LimitUnavailable):
        await closed.retry_after("k")
    with pytest.raises(LimitUnavailable):
        await closed.hit("k")
    # At its limit, and let through all the same: Redis cannot say.
    assert await opened.retry_after("k") is None
    await opened.hit("k")
    for _ in range(20):
        with pytest.raises(LimitUnavailable):
            await closed.retry_after("k")

    def events(name: str) -> int:
        return sum(1 for r in caplog.records if getattr(r, "event", None) == name)

    assert events("redis.unreachable") == 1
    now[0] += WARN_EVERY_SECONDS
    with pytest.raises(LimitUnavailable):
        await closed.retry_after("k")
    assert events("redis.unreachable") == 2

    redis_server.start()  # back, and empty
    now[0] += PAUSE_SECONDS
    assert await closed.retry_after("k") is None
    await closed.hit("k")
    await closed.hit("k")
    assert await closed.retry_after("k") is not None
    assert events("redis.recovered") == 1


@pytest.mark.timing
async def test_a_silent_redis_holds_one_call_briefly_and_the_next_not_at_all() -> None:
    """A server that takes connections and never replies (a hung Redis): the call gives up
    within the bound, and the calls right after fail at once instead of waiting too."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and hangs up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = redis_client(Settings(redis_url=f"redis://127.0.0.1:{port}/0"))
    assert redis is not None
    limit = _limit(redis, "hung", 5, 60)
    try:
        started = time.monotonic()
        with pytest.raises(LimitUnavailable):
            await limit.retry_after("k")
        assert time.monotonic() - started <= CALL_BOUND + 0.5
        started = time.monotonic()
        with pytest.raises(LimitUnavailable):
            await limit.retry_after("k")
        assert time.monotonic() - started < 0.1
    finally:
        await redis.aclose()
        server.close()
        await server.wait_closed()


async def test_connection_counts_add_up_over_processes(clients: MakeClient) -> None:
    registries = [Connections(), Connections()]
    counts = [SharedConnectionCount(RedisGuard(clients(), consequence="test"), registry,
                                    "documents", f"process-{n}")
              for n, registry in enumerate(registries)]
    for count in counts:
        count.start()
    peers = [Peer(_Nowhere(), origin="alice") for _ in range(3)]
    try:
        registries[0].add("alice", None, peers[0])
        registries[1].add("alice", None, peers[1])
        registries[1].add("alice", "login", peers[2])

        async def counted(expected: int, *, by: int) -> bool:
            return await counts[by].count("alice") == expected

        await _eventually(lambda: counted(3, by=0))
        await _eventually(lambda: counted(3, by=1))
        assert await counts[0].count("bob") == 0
        registries[1].remove("alice", "login", peers[2])
        await _eventually(lambda: counted(2, by=0))
        # A process shutting down takes its sockets out as it goes.
        await counts[1].close()
        assert await counts[0].count("alice") == 1
    finally:
        for count in counts:
            await count.close()
        for peer in peers:
            peer.cancel()


async def test_a_killed_process_stops_counting_within_the_ttl(
    clients: MakeClient, redis_server: RedisServer
) -> None:
    """The killed process's field goes, while the living one's, in the same hash, stays."""
    ttl = 1.0
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.socket_holder", redis_server.url, "alice", "2",
        str(ttl), str(ttl / 5), cwd=ROOT)
    here = Connections()
    alive = SharedConnectionCount(RedisGuard(clients(), consequence="test"), here,
                                  "documents", "alive", ttl_seconds=ttl, refresh_seconds=ttl / 5)
    alive.start()
    peer = Peer(_Nowhere(), origin="alice")
    here.add("alice", None, peer)
    try:
        async def counted(expected: int) -> bool:
            assert holder.returncode is None or expected == 1, "the holder ended by itself"
            return await alive.count("alice") == expected

        await _eventually(lambda: counted(3), timeout=30)
        # Refreshed while its process lives, well past one TTL.
        await asyncio.sleep(2 * ttl)
        assert await alive.count("alice") == 3
        holder.kill()
        await holder.wait()
        await _eventually(lambda: counted(1), timeout=2 * ttl)
        fields = await clients().hgetall("widen:conns:documents:alice")
        assert list(fields) == [b"alive"]
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await alive.close()
        peer.cancel()
