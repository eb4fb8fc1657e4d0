"""Websocket admissions, checked together (`crdt.batching`): whoever knocks while a check runs
is checked in the next one, in one transaction, however many they are.

Checking a socket (its ticket or cookie, the user's grant) reads the database. A restart sends
every client back at once. When each admission took its own transaction, about six round trips
through a busy event loop, and at most eight ran at once (to leave the pool to HTTP
requests), a reconnect storm was admitted at about 60 sockets a second: the server sat half
idle while its clients backed off. A batch costs the same few statements for one socket or
hundreds and holds one connection, so a storm never exhausts the pool.

A knock whose check cannot start within `wait_seconds` is shed (`crdt.batching.Shed`): closed
with `1013 try-later` (DESIGN §5), which every client takes as "reconnect with backoff", and
the resync after it loses nothing. Load is shed before any work is spent on it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from crdt.batching import Batched

log = logging.getLogger("widen.admission")

Knock = TypeVar("Knock")
Verdict = TypeVar("Verdict")


class AdmissionFailed(Exception):
    """The check itself failed (the database is away, say); logged once for its whole batch."""


class AdmissionGate(Batched[Knock, Verdict]):
    """`check` turns a batch of knocks into their verdicts, in order."""

    def __init__(self, check: Callable[[Sequence[Knock]], Awaitable[Sequence[Verdict]]], *,
                 batch: int, wait_seconds: float) -> None:
        async def check_logged(knocks: Sequence[Knock]) -> Sequence[Verdict]:
            try:
                return await check(knocks)
            except Exception as exc:
                log.exception("websocket admissions could not be checked",
                              extra={"event": "ws.admission_failed", "sockets": len(knocks)})
                raise AdmissionFailed from exc

        super().__init__(check_logged, batch=batch, name="widen-admissions",
                         wait_seconds=wait_seconds)
