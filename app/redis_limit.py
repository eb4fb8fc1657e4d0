"""A `WindowLimit` kept in Redis, so that every process counts one key's events together.

Sliding window, the same as the in-memory `SlidingWindowLimit`, rather than fixed windows with
weights: the counts here are small (5 failed logins, 20 registrations an hour), where a
weighted estimate is off by a whole attempt, and an exact window costs little: each key is a
sorted set of its latest hits (at most `limit` of them, the oldest trimmed as new ones come),
scored by Redis's own clock (`TIME`, so processes on machines whose clocks differ agree), and it
expires one window after its last hit. Memory stays bounded by the keys hit within one window,
each at most `limit` small members; keys are `widen:limit:<name>:<digest of the key>`, so a
long or odd key (an e-mail address, a client address) costs a fixed 16 bytes and is not kept
readable in Redis.

Each check and each hit is one Lua script, one round trip, atomic. When Redis does not answer
(`RedisGuard`), a limit made `fail_open` lets the request through uncounted, and one that is
not raises `LimitUnavailable`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis

from app.ratelimit import LimitUnavailable
from app.redis_guard import RedisGuard, RedisOutage

T = TypeVar("T")

KEY_PREFIX = "widen:limit:"

# KEYS[1] the key; ARGV limit, window (microseconds), a token that makes this hit's member
# unique. Numbers passed to redis.call keep every digit (Redis formats them with %.17g).
_HIT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 1))
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
return 0
"""

# The wait in microseconds until the key may act again, or -1 if it may act now: once `limit`
# hits lie within the window, the oldest of the latest `limit` says when one leaves it.
_RETRY_AFTER = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
if redis.call('ZCOUNT', KEYS[1], now - window + 1, '+inf') < limit then
  return -1
end
local oldest = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait <= 0 then
  return -1
end
return wait
"""


class RedisWindowLimit:
    def __init__(self, guard: RedisGuard, name: str, limit: int, window_seconds: float, *,
                 fail_open: bool) -> None:
        """`limit` 0 turns the limit off: nothing is counted and nothing is refused."""
        if limit < 0 or window_seconds <= 0:
            raise ValueError("limit must be >= 0, window positive")
        self._guard = guard
        self._name = name
        self._limit = limit
        self._window_us = int(window_seconds * 1_000_000)
        self._fail_open = fail_open
        self._hit = guard.redis.register_script(_HIT)
        self._retry_after = guard.redis.register_script(_RETRY_AFTER)

    def key(self, key: str) -> str:
        """The Redis key counting `key`'s events."""
        digest = hashlib.blake2b(key.encode(errors="surrogatepass"), digest_size=16).hexdigest()
        return f"{KEY_PREFIX}{self._name}:{digest}"

    async def retry_after(self, key: str) -> float | None:
        if not self._limit:
            return None

        async def check(redis: Redis) -> int:
            return int(await self._retry_after([self.key(key)], [self._limit, self._window_us],
                                               client=redis))

        wait_us = await self._guarded("check", check, -1)
        return None if wait_us < 0 else wait_us / 1_000_000

    async def hit(self, key: str) -> None:
        if not self._limit:
            return

        async def hit(redis: Redis) -> None:
            await self._hit([self.key(key)], [self._limit, self._window_us, uuid.uuid4().hex],
                            client=redis)

        await self._guarded("hit", hit, None)

    async def forget(self, key: str) -> None:
        if not self._limit:
            return

        async def forget(redis: Redis) -> None:
            await redis.delete(self.key(key))

        await self._guarded("forget", forget, None)

    async def _guarded(self, what: str, operation: Callable[[Redis], Awaitable[T]],
                       when_open: T) -> T:
        """`operation`, or with Redis away `when_open` (fail open) or `LimitUnavailable`."""
        try:
            return await self._guard.call(f"limit {self._name} {what}", operation)
        except RedisOutage as outage:
            if self._fail_open:
                return when_open
            raise LimitUnavailable(str(outage)) from outage
