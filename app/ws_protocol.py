"""The websocket transport: uvicorn's sans-I/O protocol, with a direct write for relays.

A relayed edit goes to every other client of its room. Through ASGI each of those sends
woke the recipient's sender task, went down the middleware chain's `send` wrappers and had
websockets frame the message again for every recipient: in the 100-room bench that path
cost more server CPU than the write itself. The `DIRECT_SEND` extension in the connection's
scope writes a message's frame to the transport at once, framed once for all its recipients
(`binary_frame`), whenever the transport can take it; otherwise it says so and the caller
queues the message for the ordinary, awaited path.

It also restores backpressure: uvicorn's sans-I/O protocol writes whatever it is sent, so a
client that stops reading grew the server's buffer without bound. Here the awaited path
waits while the transport is over its high-water mark, and the direct write declines, so a
slow client's messages wait in its peer's bounded queue (`crdt.peer`), which closes it when
full.

It subclasses uvicorn's protocol (pinned to one minor version in `pyproject.toml`, since it
relies on the protocol's attributes): `python -m app` serves with it; an app served by any
other server finds no extension in the scope and uses plain ASGI.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

DIRECT_SEND = "widen.direct_send"

# uvicorn logs every websocket it accepts or refuses at INFO, path included: the app's own
# `ws.joined` and `ws.refused` events say the same, for 10,000 sockets in a reconnect storm
# 10,000 more lines and a tenth of the server's time. Its warnings and errors still go out.
_TRANSPORT_LOG = logging.getLogger("widen.ws.transport")
_TRANSPORT_LOG.setLevel(logging.WARNING)


class _LastFrame:
    """The frame of the last message framed. A broadcast hands every recipient the same
    bytes object, so one entry is enough to frame it once per broadcast; holding the
    payload keeps its identity from being reused by another object meanwhile."""

    __slots__ = ("frame", "payload")

    def __init__(self) -> None:
        self.payload = b""
        self.frame = Frame(Opcode.BINARY, b"").serialize(mask=False)


_last = _LastFrame()


def binary_frame(payload: bytes) -> bytes:
    """A server-to-client binary frame (unmasked, no extension) carrying `payload`."""
    if payload is not _last.payload:
        _last.frame = Frame(Opcode.BINARY, payload).serialize(mask=False)
        _last.payload = payload
    return _last.frame


class DirectSend:
    """Write to one connection without a task switch, while its transport can take it.

    It holds its protocol weakly: the protocol's scope holds it, and a cycle would keep every
    closed connection's protocol (its buffers, its request) alive until a full collection,
    which the server runs rarely (`app.__main__`). In a reconnect storm of 10,000 clients
    that was 400 MB."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WidenWebSocketProtocol) -> None:
        self._protocol = weakref.ref(protocol)

    def __call__(self, payload: bytes) -> bool:
        """Write `payload` as a binary message now; False if the connection is not open or
        its transport is over its high-water mark (the caller then waits: `writable`)."""
        protocol = self._protocol()
        if protocol is None or not protocol.can_write_now():
            return False
        protocol.transport.write(binary_frame(payload))
        return True

    async def writable(self) -> None:
        """Until the transport is back under its low-water mark (or the connection is gone:
        then a send fails at once rather than waiting forever)."""
        protocol = self._protocol()
        if protocol is not None:
            await protocol.writable.wait()


class ReceiveQueue:
    """What the protocol received and the app has not read yet, for one reader.

    uvicorn gives each connection an `asyncio.Queue`, which is built for many producers and
    consumers and a bound: four deques and an event, about 3 KB of every idle socket, where one
    reader (the connection's receive loop) and no bound (the transport's flow control is the
    bound) need one deque, made when the first message comes."""

    __slots__ = ("_items", "_reader")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._reader: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            if self._reader is not None:
                raise RuntimeError("a websocket's messages have one reader")
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None
        return self._items.popleft()


class WidenWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.logger = _TRANSPORT_LOG

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The app's task is created, not started yet: it sees the scope as completed here.
        # (A refused handshake has no scope and no app.)
        if not self.close_sent:
            self.scope["extensions"][DIRECT_SEND] = DirectSend(self)  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.request is not None:
            # The handshake's request and response (their parsed headers) were kept for the
            # connection's life, about 4 KB of each idle socket; the scope has what the app
            # reads of them. websockets' parser keeps the request too: its headers go.
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]

    def can_write_now(self) -> bool:
        """Open, accepted, not closing, nothing negotiated that would change the framing
        (compression is off: `app.__main__`), and the transport under its high-water mark."""
        return (self.handshake_complete and not self.close_sent and not self.disconnected
                and not self.conn.extensions and self.writable.is_set()
                and not self.transport.is_closing())
