"""How many sockets of one kind a user holds, for `WIDEN_MAX_CONNECTIONS_PER_USER`.

One process: its own `Connections` registry's count. Several (`WIDEN_REDIS_URL`): each process
keeps, per user holding sockets there, a field in the Redis hash `widen:conns:<kind>:<user_id>`:
the field is the process's id (random per start: container pids repeat), the value its count
and the Redis time until which that count holds. A process writes a user's field as soon as its
count there changes (a background task, woken by the registry) and rewrites all of its fields
every `REFRESH_SECONDS`; a field not rewritten within `TTL_SECONDS` (its process killed with -9,
or cut off from Redis) no longer counts and is removed by the next count, and the hash itself
expires once no process refreshes it. A Redis that restarted empty has every count back within
`REFRESH_SECONDS`.

A count is this process's own (exact, at once) plus the other processes' fresh fields. Two
sockets opened at the same instant on two processes may both pass the cap: it is a brake on
one user holding the server's memory, not an exact quota. With Redis away the count is this
process's own: the cap fails open, and editing goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

from redis.asyncio import Redis

from app.connections import Connections
from app.redis_guard import RedisGuard, RedisOutage

KEY_PREFIX = "widen:conns:"
TTL_SECONDS = 30.0
REFRESH_SECONDS = 10.0

# KEYS[1] the user's hash; ARGV the process id, its count there, the TTL in microseconds.
_PUBLISH = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. string.format('%.0f', now + ttl))
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""

# KEYS[1] the user's hash; ARGV[1] the asking process, which counts its own sockets itself.
# The sum of the other processes' fresh counts; stale fields are removed on the way.
_OTHERS = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  if fields[i] ~= ARGV[1] then
    local count, expires = string.match(fields[i + 1], '^(%d+) (%d+)$')
    if tonumber(expires) > now then
      total = total + tonumber(count)
    else
      redis.call('HDEL', KEYS[1], fields[i])
    end
  end
end
return total
"""


class ConnectionCount(Protocol):
    async def count(self, user_id: str) -> int:
        """Sockets of this kind the user holds (over every process, where they are shared)."""


class LocalConnectionCount:
    """One process: the registry's own count."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    async def count(self, user_id: str) -> int:
        return self._connections.count(user_id)


class SharedConnectionCount:
    """Every process's sockets of one kind, through Redis (see the module's docstring)."""

    def __init__(self, guard: RedisGuard, connections: Connections, kind: str,
                 process_id: str, *, ttl_seconds: float = TTL_SECONDS,
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._guard = guard
        self._connections = connections
        self._kind = kind
        self._process_id = process_id
        self._ttl_us = int(ttl_seconds * 1_000_000)
        self._refresh = refresh_seconds
        self._publish_script = guard.redis.register_script(_PUBLISH)
        self._others_script = guard.redis.register_script(_OTHERS)
        # Users whose count here changed since it was last written to Redis.
        self._dirty: set[str] = set()
        # Users with a field of this process in Redis (removed at shutdown).
        self._published: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        connections.watch(self._changed)

    def key(self, user_id: str) -> str:
        return f"{KEY_PREFIX}{self._kind}:{user_id}"

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"widen-conns-{self._kind}")

    async def close(self) -> None:
        """Stop writing, and take this process's fields out (a process that cannot is
        forgotten within the TTL all the same)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                if not self._task.cancelled():
                    raise
            self._task = None
        withdrawn = dict.fromkeys(self._published, 0)
        if withdrawn:
            with contextlib.suppress(RedisOutage):  # the guard logs outages
                await self._guard.call("connection count withdraw",
                                       lambda redis: self._write(redis, withdrawn))

    async def count(self, user_id: str) -> int:
        here = self._connections.count(user_id)

        async def others(redis: Redis) -> int:
            return int(await self._others_script([self.key(user_id)], [self._process_id],
                                                 client=redis))

        try:
            return here + await self._guard.call("connection count", others)
        except RedisOutage:
            return here

    def _changed(self, user_id: str) -> None:
        self._dirty.add(user_id)
        self._wake.set()

    async def _run(self) -> None:
        next_refresh = time.monotonic() + self._refresh
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_refresh - time.monotonic())):
                    await self._wake.wait()
            self._wake.clear()
            if time.monotonic() >= next_refresh:
                self._dirty.update(self._connections.users())
                next_refresh = time.monotonic() + self._refresh
            await self._publish()

    async def _publish(self) -> None:
        users, self._dirty = self._dirty, set()
        if not users:
            return
        counts = {user: self._connections.count(user) for user in users}
        try:
            await self._guard.call("connection count publish",
                                   lambda redis: self._write(redis, counts))
        except RedisOutage:
            # Written at the next change or the next refresh, whichever comes first.
            self._dirty |= users
            return
        for user, count in counts.items():
            if count:
                self._published.add(user)
            else:
                self._published.discard(user)

    async def _write(self, redis: Redis, counts: dict[str, int]) -> None:
        """Each user's field of this process, in one round trip (0 removes the field)."""
        async with redis.pipeline(transaction=False) as pipe:
            for user, count in counts.items():
                await self._publish_script([self.key(user)],
                                           [self._process_id, count, self._ttl_us], client=pipe)
            await pipe.execute()
