"""Password hashing off the event loop.

argon2 costs about 100 ms of CPU per hash or verification. On the event loop that stalls every
request and websocket of the process; argon2-cffi releases the GIL, so a thread runs it while
the loop keeps serving. The pool's size bounds how many run at once: more would only compete for
the same cores, so excess requests wait their turn in the queue, never on the loop.

The cost is a setting (`password_hash_iterations`, `password_hash_memory_kib`): the defaults are
argon2-cffi's (RFC 9106's low-memory profile); a stored hash names the parameters it was made
with, so it verifies whatever today's are, and a sign-in rehashes one made with others.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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
    def __init__(self, workers: int, *, iterations: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=iterations, memory_cost=memory_kib)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2",
                                        initializer=_yield_to_the_loop)
        # Verified against when the email is unknown, so a sign-in takes as long either way
        # and its timing does not reveal who has an account. Made in the pool, not at start:
        # a hash is as slow as a sign-in.
        self._dummy_hash: Future[str] = self._pool.submit(
            self._hasher.hash, "widen-dummy-password-for-timing")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; an unknown account (no hash) costs the same time."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than today's settings."""
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            matched = self._hasher.verify(password_hash or self._dummy_hash.result(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
