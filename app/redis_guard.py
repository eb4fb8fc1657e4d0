"""The one Redis client of a process, and how a call to it fails when Redis is away.

Time bounds, so that a dead or unreachable Redis never holds a request for long:
- connecting and each reply wait at most `SOCKET_TIMEOUT` (1 s);
- a failed command is retried once, at once: after Redis restarts, every pooled connection is
  dead, and the retry on a fresh one hides that from the request;
- after a failure, calls fail at once for `PAUSE_SECONDS` (1 s) without trying; then one call
  tries (the others meanwhile still fail at once), and its success ends the outage.
So a refused connection (Redis stopped) costs a request nothing noticeable, and a Redis that
does not answer (packets dropped, a hung server) costs one request a second about two seconds
(two attempts; a call is cut off at `CALL_BOUND`, 4 s, whatever the client library does
inside), the others nothing.

What a failure means is the caller's choice (the limits fail closed or open: `app.limits`);
the guard is told it for its log. While Redis fails it logs a warning at most once every
`WARN_EVERY_SECONDS` (with how many calls failed meanwhile), not once per request, and once
more when Redis answers again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.settings import Settings

log = logging.getLogger("widen.redis")

T = TypeVar("T")

SOCKET_TIMEOUT = 1.0
PAUSE_SECONDS = 1.0
WARN_EVERY_SECONDS = 10.0
# The most one call may take: two attempts, each a connect and a reply.
CALL_BOUND = 2 * (2 * SOCKET_TIMEOUT)


def redis_client(settings: Settings) -> Redis | None:
    """The process's client (None without `WIDEN_REDIS_URL`); it connects on first use, so a
    server starts while Redis is away and serves what does not need it."""
    if not settings.redis_url:
        return None
    return Redis.from_url(settings.redis_url, socket_timeout=SOCKET_TIMEOUT,
                          socket_connect_timeout=SOCKET_TIMEOUT,
                          retry=Retry(NoBackoff(), retries=1))


class RedisOutage(Exception):
    """Redis did not answer, or refused (out of memory, still loading), or failed a moment ago
    and is left alone for a pause."""


class RedisGuard:
    """Runs calls to Redis, turning its failures into `RedisOutage` (and logging them)."""

    def __init__(self, redis: Redis, *, consequence: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`consequence`: what the callers do while Redis is away, for the warning."""
        self.redis = redis
        self._consequence = consequence
        self._clock = clock
        self._failing = False
        self._paused_until = 0.0
        self._warned_at: float | None = None
        self._unwarned = 0

    async def call(self, what: str, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """`operation(redis)`, or `RedisOutage`; `what` names it in the log."""
        now = self._clock()
        if now < self._paused_until:
            self._failed(what, None)
            raise RedisOutage(f"{what}: Redis failed a moment ago")
        if self._failing:
            # This call finds out whether Redis is back; the others do not wait with it.
            self._paused_until = now + CALL_BOUND
        try:
            async with asyncio.timeout(CALL_BOUND):
                result = await operation(self.redis)
        except (RedisError, TimeoutError) as error:
            self._failing = True
            self._paused_until = self._clock() + PAUSE_SECONDS
            self._failed(what, error)
            raise RedisOutage(f"{what}: {error}") from error
        if self._failing:
            self._failing = False
            self._paused_until = 0.0
            self._warned_at = None
            log.info("Redis answers again", extra={"event": "redis.recovered",
                                                   "failed_calls": self._unwarned})
            self._unwarned = 0
        return result

    def _failed(self, what: str, error: Exception | None) -> None:
        self._unwarned += 1
        now = self._clock()
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY_SECONDS:
            return
        log.warning("Redis is unreachable: %s", self._consequence,
                    extra={"event": "redis.unreachable", "call": what,
                           "error": repr(error) if error is not None else "paused",
                           "failed_calls": self._unwarned})
        self._warned_at = now
        self._unwarned = 0
