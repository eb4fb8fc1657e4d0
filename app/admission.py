"""Websocket admissions, checked together: whoever knocks while a check runs is checked in the
next one, in one transaction, however many they are.

Checking a socket (its ticket or cookie, the user's grant) reads the database. A restart sends
every client back at once. When each admission took its own transaction, about six round trips
through a busy event loop, and at most eight ran at once (to leave the pool to HTTP
requests), a reconnect storm was admitted at about 60 sockets a second: the server sat half
idle while its clients backed off. A batch costs the same few statements for one socket or
hundreds and holds one connection, so a storm never exhausts the pool.

A knock that cannot be checked within `wait_seconds` is shed: closed with `1013 try-later`
(DESIGN §5), which every client takes as "reconnect with backoff", and the resync after it
loses nothing. Load is shed before any work is spent on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("widen.admission")

Knock = TypeVar("Knock")
Verdict = TypeVar("Verdict")


class AdmissionBusy(Exception):
    """The knock waited longer than the gate lets it: tell the client to come back later."""


class AdmissionFailed(Exception):
    """The check itself failed (the database is away, say); logged once for its whole batch."""


@dataclass(frozen=True, slots=True)
class _Waiting(Generic[Knock, Verdict]):
    knock: Knock
    verdict: asyncio.Future[Verdict]
    shed_at: float


class AdmissionGate(Generic[Knock, Verdict]):
    """`check` turns a batch of knocks into their verdicts, in order."""

    def __init__(self, check: Callable[[Sequence[Knock]], Awaitable[Sequence[Verdict]]], *,
                 batch: int, wait_seconds: float) -> None:
        self._check = check
        self._batch = batch
        self._wait_seconds = wait_seconds
        self._waiting: deque[_Waiting[Knock, Verdict]] = deque()
        # Runs only while somebody waits: an idle server has no task here.
        self._checker: asyncio.Task[None] | None = None
        self.shed = 0  # knocks turned away since start
        self.batches = 0  # checks run since start

    async def admit(self, knock: Knock) -> Verdict:
        loop = asyncio.get_running_loop()
        verdict: asyncio.Future[Verdict] = loop.create_future()
        waiting = _Waiting(knock, verdict, loop.time() + self._wait_seconds)
        self._waiting.append(waiting)
        if self._checker is None:
            self._checker = asyncio.create_task(self._check_waiting(), name="widen-admissions")
        return await verdict

    async def _check_waiting(self) -> None:
        try:
            while self._waiting:
                batch = self._next_batch()
                if batch:
                    await self._check_batch(batch)
        finally:
            self._checker = None
            while self._waiting:  # cancelled (shutdown): nobody is left hanging
                waiting = self._waiting.popleft()
                if not waiting.verdict.done():
                    waiting.verdict.set_exception(AdmissionBusy())

    def _next_batch(self) -> list[_Waiting[Knock, Verdict]]:
        """Up to `batch` knocks still waited for; those past their time are shed."""
        now = asyncio.get_running_loop().time()
        batch: list[_Waiting[Knock, Verdict]] = []
        while self._waiting and len(batch) < self._batch:
            waiting = self._waiting.popleft()
            if waiting.verdict.done():
                continue  # its socket's task was cancelled meanwhile
            if now > waiting.shed_at:
                self.shed += 1
                waiting.verdict.set_exception(AdmissionBusy())
            else:
                batch.append(waiting)
        return batch

    async def _check_batch(self, batch: list[_Waiting[Knock, Verdict]]) -> None:
        self.batches += 1
        answered = False
        try:
            verdicts = await self._check([waiting.knock for waiting in batch])
            for waiting, verdict in zip(batch, verdicts, strict=True):
                if not waiting.verdict.done():
                    waiting.verdict.set_result(verdict)
            answered = True
        except Exception:
            log.exception("websocket admissions could not be checked",
                          extra={"event": "ws.admission_failed", "sockets": len(batch)})
        finally:
            if not answered:
                for waiting in batch:
                    if not waiting.verdict.done():
                        waiting.verdict.set_exception(AdmissionFailed())
