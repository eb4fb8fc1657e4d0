"""A minimal y-websocket client in Python (pycrdt + websockets), for the replay benchmark.

It speaks what the official JS client speaks for documents: sync step 1/2 and updates
(type 0); awareness (1) and query-awareness (3) are ignored since it publishes no presence;
an auth message (2) is a refusal and raises.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pycrdt import (
    Doc,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    handle_sync_message,
    read_message,
)
from websockets.asyncio.client import ClientConnection, connect

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a whole replayed document arrives as one step 2
MSG_AUTH = 2


class PermissionDeniedError(RuntimeError):
    """The server answered with a y-websocket auth message (permission denied)."""


class YClient:
    """One connection bound to one pycrdt Doc."""

    def __init__(self, ws: ClientConnection, doc: Doc[Any]) -> None:
        self.ws = ws
        self.doc = doc
        self.synced = False
        self.messages_in = 0

    @classmethod
    async def open(cls, url: str, doc: Doc[Any], *,
                   compression: str | None = "deflate") -> YClient:
        """`compression`: what websockets offers the server (None: nothing)."""
        ws = await connect(url, max_size=MAX_MESSAGE_BYTES, compression=compression)
        return cls(ws, doc)

    @property
    def extensions(self) -> str:
        """The negotiated websocket extensions, as the server's handshake reply put them."""
        response = self.ws.response
        if response is None:
            return "none"
        return response.headers.get("Sec-WebSocket-Extensions", "none")

    async def handle(self, message: bytes) -> None:
        """Apply one incoming message to the doc, answering a sync step 1."""
        self.messages_in += 1
        if message[0] == YMessageType.SYNC:
            reply = handle_sync_message(message[1:], self.doc)
            if reply is not None:
                await self.ws.send(reply)
            if message[1] == YSyncMessageType.SYNC_STEP2:
                self.synced = True
        elif message[0] == MSG_AUTH:
            reason = read_message(message[2:]).decode(errors="replace")
            raise PermissionDeniedError(f"server refused: {reason}")

    async def recv(self, deadline: float) -> bytes:
        """Next binary message, or TimeoutError at the monotonic `deadline`."""
        message = await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - time.monotonic()))
        if isinstance(message, str):
            raise RuntimeError("unexpected text frame")
        return message

    async def sync(self, deadline: float) -> None:
        """Send our step 1 and process messages until the server's step 2 has arrived."""
        await self.ws.send(create_sync_message(self.doc))
        while not self.synced:
            await self.handle(await self.recv(deadline))

    async def close(self) -> None:
        await self.ws.close()
