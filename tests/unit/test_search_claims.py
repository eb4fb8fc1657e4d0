"""Rounds of re-indexing claimed across processes (`app.search.claims`), against a real
redis-server of the test's own; two clients stand for two server processes.

How they fail: without the claim both processes index every round; without the deferred mark
the claimant reads its own room, which may lack the other's commits; failing closed while
Redis is away, nobody would index.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.redis_guard import redis_client
from app.search.claims import Claimed, Deferred, IndexClaims
from app.settings import Settings
from tests.support.redis_server import RedisServer

DELAY = 5.0


@pytest.fixture
async def two_processes(redis_server: RedisServer) -> AsyncIterator[tuple[IndexClaims,
                                                                          IndexClaims]]:
    clients: list[Redis] = []
    for _ in range(2):
        client = redis_client(Settings(redis_url=redis_server.url))
        assert client is not None
        clients.append(client)
    yield IndexClaims(clients[0]), IndexClaims(clients[1])
    for client in clients:
        await client.aclose()


async def test_the_first_to_schedule_claims_the_round_and_the_other_defers_until_it_reads(
    two_processes: tuple[IndexClaims, IndexClaims],
) -> None:
    first, second = two_processes
    assert await first.claim("doc-1", DELAY) == Claimed()
    deferred = await second.claim("doc-1", DELAY)
    assert isinstance(deferred, Deferred)
    # Until the claimant's read is due, not longer: then the next commit claims again.
    assert DELAY - 1 < deferred.seconds <= DELAY
    # Another document is a round of its own.
    assert await second.claim("doc-2", DELAY) == Claimed()

    # The claimant reads the log: the other's commits may not have reached its room.
    assert await first.reading("doc-1") is True
    # The round ended with that read: the next commit anywhere claims the next one.
    assert await second.claim("doc-1", DELAY) == Claimed()
    # Nobody deferred to that one or to doc-2: their claimants may read their rooms.
    assert await second.reading("doc-1") is False
    assert await second.reading("doc-2") is False


async def test_while_redis_is_away_every_process_indexes_from_the_log(
    redis_server: RedisServer, two_processes: tuple[IndexClaims, IndexClaims],
) -> None:
    first, second = two_processes
    assert await first.claim("doc-1", DELAY) == Claimed()
    redis_server.kill()
    assert await second.claim("doc-1", DELAY) == Claimed()
    assert await first.reading("doc-1") is True
    assert await second.reading("doc-1") is True
