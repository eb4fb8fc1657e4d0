"""A real client of the live event channel `/ws/events`: it collects every event the server
pushes, so a test can wait for one (with a deadline) or check that one never came."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import websockets

from app.api.deps import SESSION_COOKIE
from tests.support.server import ServerProcess

Event = dict[str, Any]
Match = Callable[[Event], bool]


class EventClient:
    def __init__(self, server: ServerProcess, token: str, *, cookie: bool = False,
                 origin: str | None = None) -> None:
        self.url = f"{server.ws_url}/events"
        if cookie:
            self.headers = {"Cookie": f"{SESSION_COOKIE}={token}",
                            "Origin": origin or server.base_url}
        else:
            self.headers = {"Authorization": f"Bearer {token}"}
        self.events: list[Event] = []
        # Raw text frames, to check that something never travelled at all.
        self.frames: list[str] = []
        self.arrived: list[float] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, timeout: float = 10.0) -> EventClient:
        """Open the channel and wait until it listens (`ready`), or it is refused."""
        self._socket = await websockets.connect(self.url, additional_headers=self.headers)
        self._reader = asyncio.create_task(self._read())
        await self.wait_for(lambda e: e["type"] == "ready", timeout, or_closed=True)
        return self

    async def _read(self) -> None:
        try:
            async for frame in self._socket:
                assert isinstance(frame, str), "events are text frames"
                self.frames.append(frame)
                self.events.append(json.loads(frame))
                self.arrived.append(time.perf_counter())
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self._socket.close_code
            self.close_reason = self._socket.close_reason or ""
            self.closed.set()
            self._changed.set()

    def matching(self, match: Match) -> list[Event]:
        return [e for e in self.events if match(e)]

    async def wait_for(self, match: Match, timeout: float = 10.0, *,
                       or_closed: bool = False) -> Event | None:
        """The first event that matches, waiting up to `timeout` seconds for it."""
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                found = self.matching(match)
                if found:
                    return found[0]
                if self.closed.is_set():
                    if or_closed:
                        return None
                    raise AssertionError(f"channel closed {self.close_code} "
                                         f"{self.close_reason!r} before the event came")
                await self._changed.wait()

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        async with asyncio.timeout(timeout):
            await self.closed.wait()
        return self.close_code

    async def send(self, text: str) -> None:
        await self._socket.send(text)

    async def close(self) -> None:
        await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def about(document_id: str, type_: str | None = None, **fields: Any) -> Match:
    """Events of one document, of one type, whose fields have these values."""
    def match(event: Event) -> bool:
        return (event.get("document_id") == document_id
                and (type_ is None or event["type"] == type_)
                and all(event.get(k) == v for k, v in fields.items()))
    return match
