"""Worker processes for work that turns a document into text.

The CRDT engine is native code: a document it cannot handle (a deep tower of elements stored
before the depth bound existed, say) can crash the process that reads it. Reading happens
here, in a pool of worker processes, so such a crash fails one request, is logged, and the
pool starts afresh; the server and every other request carry on. The pool also keeps that
CPU-heavy work off the event loop, with its concurrency bounded by the number of workers.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger("widen.workers")

T = TypeVar("T")


class WorkFailed(Exception):
    """The work crashed its worker or ran out of time; the caller reports it as unavailable."""


class TextWorkers:
    def __init__(self, workers: int, timeout_seconds: float) -> None:
        self._workers = workers
        self._timeout = timeout_seconds
        self._slots = asyncio.Semaphore(workers)
        self._pool: ProcessPoolExecutor | None = None
        self.crashes = 0

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """Run `work(*args)` in a worker process (it and its arguments must pickle)."""
        async with self._slots:
            pool = self._current_pool()
            future = asyncio.wrap_future(pool.submit(work, *args))
            try:
                async with asyncio.timeout(self._timeout):
                    return await future
            except BrokenProcessPool as exc:
                self.crashes += 1
                log.error("a text worker crashed; its request fails, the pool restarts",
                          extra={"event": "workers.crashed", "work": work.__name__})
                self._discard(pool)
                raise WorkFailed(f"{work.__name__} crashed its worker") from exc
            except TimeoutError as exc:
                log.error("text work timed out; its worker is stopped",
                          extra={"event": "workers.timeout", "work": work.__name__,
                                 "seconds": self._timeout})
                self._discard(pool, kill=True)
                raise WorkFailed(f"{work.__name__} took longer than {self._timeout} s") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _current_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # "spawn": a fork of a process running an event loop and database threads is
            # not something to run more code in.
            self._pool = ProcessPoolExecutor(self._workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor, *, kill: bool = False) -> None:
        if self._pool is pool:
            self._pool = None
        if kill:
            # Python 3.11 has no public way to stop a busy worker; `_processes` is the
            # executor's own table of them.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
