"""The limits a server enforces per user or per client address, built from the settings.

Without `WIDEN_REDIS_URL` they live in memory, in the one process. With it, several processes
serve the same people, so each limit counts in Redis over all of them (`app.redis_limit`,
`app.connection_count`), and each fails the way its purpose asks when Redis does not answer:
- closed (the request is refused with 503 "try again", never let through uncounted): failed
  logins, registrations and password-reset requests. They are brakes on guessing and abuse; a
  brake that gave way whenever Redis did would hand a guesser unthrottled tries.
- open (the request goes ahead uncounted, or counted by this process alone): websocket
  refusals and the connection caps. They spare the server's work, and people editing an open
  document must not be cut off because Redis is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

from redis.asyncio import Redis

from app.connection_count import ConnectionCount, LocalConnectionCount, SharedConnectionCount
from app.connections import Connections
from app.ratelimit import MakeLimit, SlidingWindowLimit, WindowLimit
from app.redis_guard import RedisGuard
from app.redis_limit import RedisWindowLimit
from app.settings import Settings
from app.throttle import LoginThrottle

_CONSEQUENCE = ("sign-in, registration and password-reset requests are refused (503); "
                "editing goes on, the connection caps counting each process's own sockets")


@dataclass(frozen=True)
class Limits:
    login_throttle: LoginThrottle
    # Accounts created per client address.
    registrations: WindowLimit
    # Password-reset requests per client address, a brake like `registrations`.
    reset_requests: WindowLimit
    # Websocket refusals per user and document (`app.ws`).
    ws_refusals: WindowLimit
    # Open document sockets and live event channels per user, capped apart.
    sockets: ConnectionCount
    event_channels: ConnectionCount
    _shared: tuple[SharedConnectionCount, ...] = ()

    async def close(self) -> None:
        for count in self._shared:
            await count.close()


def start_limits(settings: Settings, redis: Redis | None, connections: Connections,
                 event_connections: Connections) -> Limits:
    """The limits, in memory without `redis`; with it, in Redis, with the shared connection
    counts started (they write this process's counts in the background until `close`)."""
    if redis is None:
        return _built(settings, _in_memory, _in_memory, LocalConnectionCount(connections),
                      LocalConnectionCount(event_connections))
    guard = RedisGuard(redis, consequence=_CONSEQUENCE)
    process_id = uuid.uuid4().hex
    shared = (SharedConnectionCount(guard, connections, "documents", process_id),
              SharedConnectionCount(guard, event_connections, "events", process_id))
    for count in shared:
        count.start()
    sockets, event_channels = shared
    return _built(settings, partial(_in_redis, guard, fail_open=False),
                  partial(_in_redis, guard, fail_open=True), sockets, event_channels,
                  shared=shared)


def _built(settings: Settings, closed: MakeLimit, opened: MakeLimit,
           sockets: ConnectionCount, event_channels: ConnectionCount, *,
           shared: tuple[SharedConnectionCount, ...] = ()) -> Limits:
    return Limits(
        login_throttle=LoginThrottle.from_settings(settings, closed),
        registrations=closed("registrations", settings.registrations_per_hour, 3600),
        reset_requests=closed("reset-requests", settings.registrations_per_hour, 3600),
        ws_refusals=opened("ws-refusals", settings.ws_refusals_per_minute, 60),
        sockets=sockets,
        event_channels=event_channels,
        _shared=shared,
    )


def _in_memory(name: str, limit: int, window_seconds: float) -> WindowLimit:
    return SlidingWindowLimit(limit, window_seconds)


def _in_redis(guard: RedisGuard, name: str, limit: int, window_seconds: float, *,
              fail_open: bool) -> WindowLimit:
    return RedisWindowLimit(guard, name, limit, window_seconds, fail_open=fail_open)
