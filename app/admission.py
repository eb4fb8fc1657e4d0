"""How many websocket admissions are checked at once, and what the others are told.

Checking a socket (its ticket or cookie, the user's grant) takes a database connection. In a
reconnect storm (a restart: every client at once) thousands of admissions queued for the pool,
waited past its timeout and were closed with 1011, while the event loop spent its time on the
queue. Now at most `concurrency` admissions run at once (fewer than the pool holds, so HTTP
requests still get connections); one that cannot start within `wait_seconds` is shed: closed
with `1013 try-later` (DESIGN §5), which every client takes as "reconnect with backoff", and
the resync after it loses nothing. Load is shed before any work is spent on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class AdmissionBusy(Exception):
    """No admission slot freed up in time: tell the client to come back later."""


class AdmissionGate:
    def __init__(self, concurrency: int, wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._wait_seconds = wait_seconds
        self.shed = 0  # admissions turned away since start

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            self.shed += 1
            raise AdmissionBusy from None
        try:
            yield
        finally:
            self._slots.release()
