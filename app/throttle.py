"""Slowing down password guessing: too many failed logins per account or per address → 429.

Kept in memory: a restart forgets it, and several processes each count on their own (so the
effective limit is per process). Both are acceptable for a brake on online guessing.
"""

from __future__ import annotations

import time
from collections import deque


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self._max_failures = max_failures
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, *keys: str) -> float | None:
        """Seconds until a login for any of these keys may be tried again, or None if now."""
        now = time.monotonic()
        waits = []
        for key in keys:
            recent = self._recent(key, now)
            if len(recent) >= self._max_failures:
                waits.append(recent[0] + self._window - now)
        return max(waits) if waits else None

    def record_failure(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key, now).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] <= now - self._window:
            recent.popleft()
        return recent
