"""A stand-in for a server process holding a user's sockets, counted in Redis, until it is
killed: `python -m tests.support.socket_holder REDIS_URL USER_ID SOCKETS TTL REFRESH`.

The tests kill it with SIGKILL, so that nothing of it takes its count out of Redis: only the
TTL can.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from app.connection_count import SharedConnectionCount
from app.connections import Connections
from app.redis_guard import RedisGuard, redis_client
from app.settings import Settings
from crdt.peer import Peer


class _Nowhere:
    def send_now(self, data: bytes) -> bool:
        return True  # taken, and dropped: see `send`

    async def send(self, data: bytes) -> None:
        """Nothing is sent to these sockets."""

    async def close(self, code: int, reason: str) -> None:
        """Nor are they closed: the process is killed first."""


async def _hold(redis_url: str, user_id: str, sockets: int, ttl: float, refresh: float) -> None:
    redis = redis_client(Settings(redis_url=redis_url))
    assert redis is not None
    connections = Connections()
    count = SharedConnectionCount(RedisGuard(redis, consequence="held sockets go uncounted"),
                                  connections, "documents", uuid.uuid4().hex,
                                  ttl_seconds=ttl, refresh_seconds=refresh)
    count.start()
    for _ in range(sockets):
        connections.add(user_id, None, Peer(_Nowhere(), origin=user_id))
    await asyncio.Event().wait()


if __name__ == "__main__":
    url, user, held, ttl_seconds, refresh_seconds = sys.argv[1:]
    asyncio.run(_hold(url, user, int(held), float(ttl_seconds), float(refresh_seconds)))
