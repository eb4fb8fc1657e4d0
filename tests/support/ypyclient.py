"""A y-websocket peer whose CRDT is `y-py`, the binding Widen was first specified with.

y-py ships no protocol helpers, so the framing comes from pycrdt's (the wire format is
identical); every update this peer sends is produced and every update it receives is applied by
y-py itself, which is what the interop check is about.
"""

from __future__ import annotations

import asyncio
import contextlib

import websockets
import y_py as Y
from pycrdt import create_update_message, read_message, write_message
from websockets.asyncio.client import ClientConnection

_SYNC = 0
_STEP1, _STEP2, _UPDATE = 0, 1, 2


class YPyClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.doc = Y.YDoc()
        self.changed = asyncio.Condition()
        self.synced = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> YPyClient:
        self._ws = await websockets.connect(self.url, compression=None)
        self._reader = asyncio.create_task(self._read())
        await self._ws.send(bytes([_SYNC, _STEP1]) + write_message(Y.encode_state_vector(self.doc)))
        async with asyncio.timeout(10):
            await self.synced.wait()
        return self

    def text(self) -> str:
        return str(self.doc.get_text("body"))

    async def insert(self, index: int, value: str) -> None:
        before = Y.encode_state_vector(self.doc)
        body = self.doc.get_text("body")
        # y-py's stub declares YTransaction's __enter__ and __exit__ without `self`.
        with self.doc.begin_transaction() as txn:  # type: ignore[misc, call-arg]
            body.insert(txn, index, value)
        assert self._ws is not None
        await self._ws.send(create_update_message(Y.encode_state_as_update(self.doc, before)))

    async def wait_text(self, value: str, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(lambda: self.text() == value)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in self._ws:
                assert isinstance(message, bytes)
                if message[0] != _SYNC:
                    continue
                payload = read_message(message[2:])
                if message[1] == _STEP1:
                    reply = Y.encode_state_as_update(self.doc, payload)
                    await self._ws.send(bytes([_SYNC, _STEP2]) + write_message(reply))
                else:
                    Y.apply_update(self.doc, payload)
                    if message[1] == _STEP2:
                        self.synced.set()
                async with self.changed:
                    self.changed.notify_all()
