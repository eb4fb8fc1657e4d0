"""Several real server processes on one PostgreSQL database and one Redis of the test's own,
as the compose file runs them (the tests may kill that Redis and start it again)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess

StartCluster = Callable[..., Awaitable[list[ServerProcess]]]


@pytest.fixture
async def start_cluster(fresh_postgres: str, redis_server: RedisServer,
                        tmp_path: Path) -> AsyncIterator[StartCluster]:
    """`await start_cluster(count, **settings)`: `count` (default two) more processes sharing
    the database and Redis, started at once."""
    servers: list[ServerProcess] = []

    async def start(count: int = 2, **settings: str) -> list[ServerProcess]:
        started = [ServerProcess(fresh_postgres, tmp_path / f"server{len(servers) + n}.log",
                                 redis_url=redis_server.url, **settings) for n in range(count)]
        servers.extend(started)
        await asyncio.gather(*(asyncio.to_thread(s.start) for s in started))
        return started

    try:
        yield start
    finally:
        await asyncio.gather(*(asyncio.to_thread(s.stop) for s in servers))
