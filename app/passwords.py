"""Password hashing off the event loop.

argon2 costs about 100 ms of CPU per hash or verification. On the event loop that stalls every
request and websocket of the process; argon2-cffi releases the GIL, so a thread runs it while
the loop keeps serving. The pool's size bounds how many run at once: more would only compete for
the same cores, so excess requests wait their turn in the queue, never on the loop.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from app import security

# How much lower than the event loop hashing threads run (a nice value; 19 is the lowest).
_NICENESS = 10


def _yield_to_the_loop() -> None:
    """Let the event loop preempt hashing. argon2 starts a thread per lane (4 by default), so
    even one hash can occupy every core of a small machine; on Linux a thread has a nice value
    of its own, which the lane threads it starts inherit. Elsewhere threads share the process's
    priority, and only the pool's size bounds the competition."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICENESS)


class PasswordHashing:
    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2",
                                        initializer=_yield_to_the_loop)

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, security.hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Like `security.verify_password`: an unknown account costs the same time."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, security.verify_password, password_hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
