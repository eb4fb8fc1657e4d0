"""Rate limits: what every window limit offers (`WindowLimit`), and the ones kept in memory.

A `WindowLimit` allows at most `limit` events per key within `window` seconds (registrations per
address, failed logins); its methods are coroutines so that one kept in Redis
(`app.redis_limit`, shared by several processes) and one kept here are used alike. One that
cannot count (Redis away) and must not let the request through raises `LimitUnavailable`.

`SlidingWindowLimit` is a bounded sliding-window counter in memory.

Memory stays bounded whatever callers send: each key keeps at most `limit` timestamps, and at
most `max_keys` keys are remembered. Keys are kept in least-recently-hit order, so expired ones
are dropped from the front as new hits arrive; past `max_keys`, the least recently hit key is
forgotten (which can only ever let that key try sooner, never refuse anyone wrongly).

In memory and per process: a restart forgets, and several processes each count on their own
(with `WIDEN_REDIS_URL` set, they count in Redis instead: `app.limits`).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

DEFAULT_MAX_KEYS = 10_000


class LimitUnavailable(Exception):
    """A limit that fails closed could not count: the request is refused, to be retried."""


class WindowLimit(Protocol):
    async def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may act again, or None if it may act now."""

    async def hit(self, key: str) -> None:
        """Count one event for `key` now."""

    async def forget(self, key: str) -> None:
        """Drop what was counted for `key`."""


# Makes one limit: (its name, at most this many events, within this many seconds).
MakeLimit = Callable[[str, int, float], WindowLimit]


class SlidingWindowLimit:
    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`limit` 0 turns the limit off: nothing is counted and nothing is refused."""
        if limit < 0 or window_seconds <= 0 or max_keys < 1:
            raise ValueError("limit must be >= 0, window and max_keys positive")
        self._limit = limit
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._limit > 0

    def __len__(self) -> int:
        """How many keys are remembered (bounded by `max_keys`)."""
        return len(self._hits)

    async def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may act again, or None if it may act now."""
        if not self.enabled:
            return None
        hits = self._hits.get(key)
        if hits is None or len(hits) < self._limit:
            return None
        wait = hits[0] + self._window - self._clock()
        return wait if wait > 0 else None

    async def hit(self, key: str) -> None:
        """Count one event for `key` now."""
        if not self.enabled:
            return
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque(maxlen=self._limit)
        else:
            self._hits.move_to_end(key)
        hits.append(now)
        self._prune(now)

    async def forget(self, key: str) -> None:
        self._hits.pop(key, None)

    def _prune(self, now: float) -> None:
        expired_before = now - self._window
        while self._hits:
            oldest_key, oldest_hits = next(iter(self._hits.items()))
            if oldest_hits[-1] > expired_before and len(self._hits) <= self._max_keys:
                break
            del self._hits[oldest_key]


class TokenBucket:
    """A steady rate with room for a burst, as a connection's messages need (a reconnect's
    sync and a paste come in bursts, typing is steady). One per connection, so unbounded keys
    are not its concern."""

    def __init__(self, rate_per_second: float, burst: float) -> None:
        self._rate = rate_per_second
        self._burst = burst
        self._tokens = burst
        self._updated = time.monotonic()

    def take(self) -> bool:
        """Spend one token; False when there is none left."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
