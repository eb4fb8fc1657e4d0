"""A token bucket: a steady rate with room for a burst, as a connection's messages need
(a reconnect's sync and a paste come in bursts, typing is steady)."""

from __future__ import annotations

import time


class TokenBucket:
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
