"""Worker processes for work that turns a document into text.

The CRDT engine is native code: a document it cannot handle (a deep tower of elements stored
before the depth bound existed, say) can crash the process that reads it. Reading happens
here, in a pool of worker processes, so such a crash fails one request, is logged, and the
pool starts afresh; the server and every other request carry on. The pool also keeps that
CPU-heavy work off the event loop, with its concurrency bounded by the number of workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger("widen.workers")

T = TypeVar("T")


class WorkFailed(Exception):
    """The work crashed its worker or ran out of time; the caller reports it as unavailable."""


class _Collateral(Exception):
    """A job failed with its pool, which another job in it may have crashed."""


class TextWorkers:
    def __init__(self, workers: int, timeout_seconds: float) -> None:
        self._workers = workers
        self._timeout = timeout_seconds
        self._slots = asyncio.Semaphore(workers)
        self._pool: ProcessPoolExecutor | None = None
        # Jobs submitted to each pool and not yet over: was a crashed job alone?
        self._in_flight: dict[ProcessPoolExecutor, int] = {}
        self._broken_with: dict[ProcessPoolExecutor, int] = {}
        self._alone_lock = asyncio.Lock()
        self.crashes = 0

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """Run `work(*args)` in a worker process (it and its arguments must pickle).

        A crash breaks the whole pool, failing every job in it at that moment, and only one
        of them caused it. A job that was not alone in the pool is run again, alone, once: an
        innocent one then succeeds (its failure would otherwise be cached as its document's),
        and the culprit crashes again, alone, and fails."""
        try:
            return await self._run_in_pool(work, args)
        except _Collateral:
            async with self._alone():
                try:
                    return await self._run_in_pool(work, args, counted=False)
                except _Collateral as exc:
                    raise WorkFailed(f"{work.__name__} crashed its worker") from exc

    async def _run_in_pool(self, work: Callable[..., T], args: tuple[object, ...], *,
                           counted: bool = True) -> T:
        async with self._slots if counted else contextlib.nullcontext():
            pool = self._current_pool()
            self._in_flight[pool] = self._in_flight.get(pool, 0) + 1
            try:
                future = asyncio.wrap_future(pool.submit(work, *args))
                async with asyncio.timeout(self._timeout):
                    return await future
            except BrokenProcessPool as exc:
                # How many jobs the pool held when it broke, as the first of them saw it.
                alone = self._broken_with.setdefault(pool, self._in_flight[pool]) == 1
                if self._pool is pool:  # once per broken pool, whichever job sees it first
                    self.crashes += 1
                    log.error("a text worker crashed; the pool restarts",
                              extra={"event": "workers.crashed", "work": work.__name__})
                    self._discard(pool)
                if alone:
                    raise WorkFailed(f"{work.__name__} crashed its worker") from exc
                raise _Collateral from exc
            except TimeoutError as exc:
                log.error("text work timed out; its worker is stopped",
                          extra={"event": "workers.timeout", "work": work.__name__,
                                 "seconds": self._timeout})
                self._discard(pool, kill=True)
                raise WorkFailed(f"{work.__name__} took longer than {self._timeout} s") from exc
            finally:
                self._in_flight[pool] -= 1
                if not self._in_flight[pool]:
                    del self._in_flight[pool]
                    self._broken_with.pop(pool, None)

    @contextlib.asynccontextmanager
    async def _alone(self) -> AsyncIterator[None]:
        """Every worker slot: nothing else runs in the pool meanwhile. One job at a time
        takes them, or two taking one each would wait for each other forever."""
        async with self._alone_lock:
            taken = 0
            try:
                for _ in range(self._workers):
                    await self._slots.acquire()
                    taken += 1
                yield
            finally:
                for _ in range(taken):
                    self._slots.release()

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
