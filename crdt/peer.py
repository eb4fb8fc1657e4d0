"""One client connection as a room sees it: an origin, an outgoing queue, its awareness ids.

A message goes straight to the transport when it can take it (`Channel.send_now`): that is
nearly always, and costs no task switch. Otherwise it waits in a bounded queue, drained by a
task that exists only while the queue does, so a slow or stalled client can never hold up
the room: when its queue is full it is disconnected (it resyncs on reconnect, losing
nothing) instead of making everyone else wait or the server buffer without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

from crdt.guard import WriteScope
from crdt.protocol import CloseCode, create_permission_denied_message

log = logging.getLogger("widen.peer")

MAX_QUEUED_MESSAGES = 4096
# And at most this many bytes: a client that stops reading while large updates (pastes,
# coalesced bursts) are relayed to it costs at most this much, however big each one is.
MAX_QUEUED_BYTES = 8 * 1024 * 1024


class Channel(Protocol):
    """The transport seam: whatever carries bytes to one client (a websocket in production)."""

    def send_now(self, data: bytes) -> bool:
        """Hand `data` to the transport at once if it can take it without waiting; False:
        it cannot now, and `send` must carry it."""

    async def send(self, data: bytes) -> None:
        """Send `data`, waiting while the transport is full."""

    async def close(self, code: int, reason: str) -> None: ...


class Peer:
    """`scope` is what the connection may write and may change while it is open (a role
    change); `identity` is what the server writes into the `user` field of every awareness
    state the client sends, so nobody can appear as someone else."""

    def __init__(
        self,
        channel: Channel,
        origin: str | None,
        *,
        scope: WriteScope | None = None,
        identity: dict[str, str] | None = None,
        label: str = "",
        max_queued: int = MAX_QUEUED_MESSAGES,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self.channel = channel
        self.origin = origin
        self.scope = scope or WriteScope.everything()
        self.identity = identity
        self.label = label
        self.awareness_client_ids: set[int] = set()
        # What the transport could not take at once, in order, ending with the close if any;
        # None while nothing waits (an empty deque is 600 bytes, on each of thousands of idle
        # sockets).
        self._outbox: deque[bytes | tuple[int, str]] | None = None
        self._max_queued = max_queued
        self._max_queued_bytes = max_queued_bytes
        self._queued_bytes = 0
        self._closing = False
        # Drains `_outbox`; None while it is empty.
        self._sender: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing

    def send(self, data: bytes) -> None:
        if self._closing:
            return
        if self._sender is None and self.channel.send_now(data):
            return
        if (self._queued() >= self._max_queued
                or self._queued_bytes + len(data) > self._max_queued_bytes):
            log.warning("peer too slow; disconnecting",
                        extra={"event": "peer.slow", "peer": self.label})
            self._close_now(CloseCode.TRY_AGAIN_LATER, "try-later: too slow to keep up")
            return
        self._enqueue(data)
        self._queued_bytes += len(data)

    def close(self, code: int, reason: str) -> None:
        """Close after what is already queued (e.g. a permission-denied message) is sent."""
        if self._closing:
            return
        if self._queued() >= self._max_queued:
            self._close_now(code, reason)
            return
        self._closing = True
        self._enqueue((code, reason))

    def deny(self, code: int, reason: str) -> None:
        """Tell the client why with the y-websocket permission-denied message, then close."""
        self.send(create_permission_denied_message(reason))
        self.close(code, reason)

    def _close_now(self, code: int, reason: str) -> None:
        """Drop what is queued and close. A sender waiting for a stalled transport would
        never get to the close: it is cancelled (it has written nothing of what it waits to
        send) and a new one closes."""
        self._closing = True
        self._outbox = None
        self._queued_bytes = 0
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        self._enqueue((code, reason))

    def _queued(self) -> int:
        return len(self._outbox) if self._outbox is not None else 0

    def _enqueue(self, item: bytes | tuple[int, str]) -> None:
        """Queue `item` and make sure a sender drains the queue."""
        if self._outbox is None:
            self._outbox = deque()
        self._outbox.append(item)
        if self._sender is None:
            self._sender = asyncio.create_task(self._drain(self._outbox),
                                               name=f"widen-peer-send-{self.label}")

    async def wait_closed(self) -> None:
        """Until what was queued, the close last, has gone out."""
        if self._sender is not None:
            await asyncio.shield(self._sender)

    def cancel(self) -> None:
        """The transport is gone: stop sending."""
        self._closing = True
        if self._sender is not None:
            self._sender.cancel()

    async def _drain(self, outbox: deque[bytes | tuple[int, str]]) -> None:
        try:
            while outbox:
                item = outbox.popleft()
                if isinstance(item, tuple):
                    code, reason = item
                    await self.channel.close(code, reason)
                    return
                self._queued_bytes -= len(item)
                await self.channel.send(item)
        except Exception as exc:
            # The client went away mid-send; its receive loop sees the disconnect and leaves.
            self._closing = True
            log.debug("send to peer failed", extra={"event": "peer.send_failed",
                                                    "peer": self.label, "error": repr(exc)})
        finally:
            if self._sender is asyncio.current_task():
                self._sender = None
                if self._outbox is outbox and not outbox:
                    self._outbox = None
