"""A y-websocket protocol client on pycrdt: the Python peer of the interop and load tests.

Local edits are sent as the exact update they produced (a state-vector diff), so a test knows
byte for byte what it sent; remote messages go through pycrdt's `handle_sync_message`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import websockets
from pycrdt import (
    Awareness,
    Doc,
    Text,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    read_message,
)
from websockets.asyncio.client import ClientConnection


class YClient:
    def __init__(
        self, url: str, *, client_id: int | None = None, resume: YClient | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """`resume`: reconnect with that client's document and awareness, as a provider does.
        `headers`: sent with the handshake (a browser's session cookie and Origin)."""
        self.url = url
        self.headers = headers or {}
        self.doc: Doc[Any]
        self.awareness: Awareness
        if resume is not None:
            self.doc, self.awareness = resume.doc, resume.awareness
        else:
            self.doc = Doc(client_id=client_id) if client_id is not None else Doc()
            self.awareness = Awareness(self.doc)
        self.synced = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = asyncio.Event()
        self.auth_messages: list[bytes] = []
        self.sent_updates: list[bytes] = []
        self._changed = asyncio.Condition()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, timeout: float = 10.0) -> YClient:
        self._ws = await websockets.connect(self.url, max_size=None, compression=None,
                                           open_timeout=timeout,
                                           additional_headers=self.headers)
        self._reader = asyncio.create_task(self._read())
        # A refused connection is closed by the server right away; `closed` records why.
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(create_sync_message(self.doc))
        return self

    async def connect_synced(self, timeout: float = 10.0) -> YClient:
        await self.connect(timeout)
        await self.wait_synced(timeout)
        return self

    async def wait_synced(self, timeout: float = 10.0) -> None:
        wait_synced = asyncio.create_task(self.synced.wait())
        wait_closed = asyncio.create_task(self.closed.wait())
        done, pending = await asyncio.wait({wait_synced, wait_closed}, timeout=timeout,
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if not self.synced.is_set():
            raise AssertionError(f"not synced; closed with {self.close_code} {self.close_reason}")

    def text(self, name: str = "body") -> Text:
        text: Text = self.doc.get(name, type=Text)
        return text

    async def edit(self, change: Callable[[Doc[Any]], Any]) -> bytes:
        """Make a local change and send exactly the update it produced."""
        before = self.doc.get_state()
        with self.doc.transaction():
            change(self.doc)
        update = self.doc.get_update(before)
        self.sent_updates.append(update)
        await self.send(create_update_message(update))
        return update

    async def insert(self, index: int, value: str, name: str = "body") -> bytes:
        return await self.edit(lambda doc: doc.get(name, type=Text).insert(index, value))

    async def append(self, value: str, name: str = "body") -> bytes:
        return await self.edit(lambda doc: doc.get(name, type=Text).insert(
            len(doc.get(name, type=Text)), value))

    async def delete(self, index: int, length: int, name: str = "body") -> bytes:
        return await self.edit(lambda doc: doc.get(name, type=Text).__delitem__(
            slice(index, index + length)))

    async def set_awareness(self, state: dict[str, Any] | None) -> None:
        self.awareness.set_local_state(state)
        payload = self.awareness.encode_awareness_update([self.awareness.client_id])
        await self.send(create_awareness_message(payload))

    async def send(self, data: bytes) -> None:
        assert self._ws is not None
        await self._ws.send(data)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate() or self.closed.is_set())
        if not predicate():
            raise AssertionError(f"connection closed ({self.close_code} {self.close_reason}) "
                                 "before the condition held")

    async def wait_text(self, value: str, name: str = "body", timeout: float = 10.0) -> None:
        try:
            await self.wait_for(lambda: str(self.text(name)) == value, timeout)
        except TimeoutError as exc:
            raise AssertionError(f"text is {str(self.text(name))!r}, expected {value!r}") from exc

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        async with asyncio.timeout(timeout):
            await self.closed.wait()
        return self.close_code

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                assert isinstance(message, bytes), "the server sends binary frames only"
                await self._handle(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._ws.close_code is not None:
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason or ""
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def _handle(self, message: bytes) -> None:
        if message[0] == 0:
            reply = handle_sync_message(message[1:], self.doc)
            if reply is not None:
                await self.send(reply)
            if message[1] == 1:
                self.synced.set()
        elif message[0] == 1:
            self.awareness.apply_awareness_update(read_message(message[1:]), "remote")
        elif message[0] == 2:
            self.auth_messages.append(message)
        async with self._changed:
            self._changed.notify_all()
