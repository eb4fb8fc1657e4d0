"""One client connection as a room sees it: an origin, an outgoing queue, its awareness ids.

Sending goes through a bounded queue drained by the peer's own task, so a slow or stalled
client can never hold up the room: when its queue is full it is disconnected (it resyncs on
reconnect, losing nothing) instead of making everyone else wait.
"""

from __future__ import annotations

import asyncio
import logging
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

    async def send(self, data: bytes) -> None: ...

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
        self._outbox: asyncio.Queue[bytes | tuple[int, str]] = asyncio.Queue(max_queued)
        self._max_queued_bytes = max_queued_bytes
        self._queued_bytes = 0
        self._closing = False
        self._sender = asyncio.create_task(self._drain(), name=f"widen-peer-send-{label}")

    @property
    def closing(self) -> bool:
        return self._closing

    def send(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            if self._queued_bytes + len(data) > self._max_queued_bytes:
                raise asyncio.QueueFull
            self._outbox.put_nowait(data)
            self._queued_bytes += len(data)
        except asyncio.QueueFull:
            log.warning("peer too slow; disconnecting",
                        extra={"event": "peer.slow", "peer": self.label})
            self._close_now(CloseCode.TRY_AGAIN_LATER, "try-later: too slow to keep up")

    def close(self, code: int, reason: str) -> None:
        """Close after what is already queued (e.g. a permission-denied message) is sent."""
        if self._closing:
            return
        try:
            self._outbox.put_nowait((code, reason))
            self._closing = True
        except asyncio.QueueFull:
            self._close_now(code, reason)

    def deny(self, code: int, reason: str) -> None:
        """Tell the client why with the y-websocket permission-denied message, then close."""
        self.send(create_permission_denied_message(reason))
        self.close(code, reason)

    def _close_now(self, code: int, reason: str) -> None:
        self._closing = True
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._queued_bytes = 0
        self._outbox.put_nowait((code, reason))

    async def wait_closed(self) -> None:
        await asyncio.shield(self._sender)

    def cancel(self) -> None:
        """The transport is gone: stop sending."""
        self._closing = True
        self._sender.cancel()

    async def _drain(self) -> None:
        try:
            while True:
                item = await self._outbox.get()
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
