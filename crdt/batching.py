"""Many requests of one kind served together: whoever asks while a batch is being served is
served by the next one, in one go.

A restart brings every client back at once, and each of them asks the database something (is
this login valid, load this document). One by one, each request took its own connection and
several round trips through an event loop busy with thousands of handshakes; thousands of them
queued for the pool and timed out. A batch costs the same few statements for one request or
hundreds, on one connection, so a storm never exhausts the pool and its cost per request falls
as the storm grows.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Request = TypeVar("Request")
Answer = TypeVar("Answer")


class Shed(Exception):
    """The request waited longer than its batcher lets it: it was never served."""


@dataclass(frozen=True, slots=True)
class _Waiting(Generic[Request, Answer]):
    request: Request
    answer: asyncio.Future[Answer]
    shed_at: float


class Batched(Generic[Request, Answer]):
    """`serve` answers a batch of at most `batch` requests, in order; if it raises, every
    request of that batch raises the same. `wait_seconds`: a request that could not be served
    within that long is shed (`Shed`) unserved; None waits for as long as it takes."""

    def __init__(self, serve: Callable[[Sequence[Request]], Awaitable[Sequence[Answer]]], *,
                 batch: int, name: str, wait_seconds: float | None = None) -> None:
        self._serve = serve
        self._batch = batch
        self._name = name
        self._wait_seconds = wait_seconds
        self._waiting: deque[_Waiting[Request, Answer]] = deque()
        # Runs only while somebody waits: an idle server has no task here.
        self._server: asyncio.Task[None] | None = None
        self.shed = 0  # requests shed since start

    async def __call__(self, request: Request) -> Answer:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Answer] = loop.create_future()
        wait = self._wait_seconds if self._wait_seconds is not None else math.inf
        self._waiting.append(_Waiting(request, answer, loop.time() + wait))
        if self._server is None:
            self._server = asyncio.create_task(self._serve_waiting(), name=self._name)
        return await answer

    async def _serve_waiting(self) -> None:
        try:
            while self._waiting:
                batch = self._next_batch()
                if batch:
                    await self._serve_batch(batch)
        finally:
            self._server = None
            while self._waiting:  # cancelled (shutdown): nobody is left hanging
                waiting = self._waiting.popleft()
                if not waiting.answer.done():
                    waiting.answer.set_exception(Shed())

    def _next_batch(self) -> list[_Waiting[Request, Answer]]:
        """Up to `batch` requests still waited for; those past their time are shed."""
        now = asyncio.get_running_loop().time()
        batch: list[_Waiting[Request, Answer]] = []
        while self._waiting and len(batch) < self._batch:
            waiting = self._waiting.popleft()
            if waiting.answer.done():
                continue  # its asker was cancelled meanwhile
            if now > waiting.shed_at:
                self.shed += 1
                waiting.answer.set_exception(Shed())
            else:
                batch.append(waiting)
        return batch

    async def _serve_batch(self, batch: list[_Waiting[Request, Answer]]) -> None:
        try:
            answers = await self._serve([waiting.request for waiting in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{self._name}: {len(answers)} answers to {len(batch)}")
        except Exception as exc:
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        except BaseException:
            for waiting in batch:  # cancelled (shutdown) mid-batch
                if not waiting.answer.done():
                    waiting.answer.set_exception(Shed())
            raise
        for waiting, answer in zip(batch, answers, strict=True):  # lengths checked above
            if not waiting.answer.done():
                waiting.answer.set_result(answer)
