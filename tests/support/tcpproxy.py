"""A real TCP proxy a test owns, to take a database away from a server and give it back.

It listens on 127.0.0.1 on a free port and forwards every connection to a target (the shared
PostgreSQL). `cut()` closes every open connection and refuses new ones (accepted and dropped at
once, as a firewall's reset would); `restore()` forwards again. The database itself is never
touched, so other tests and other engineers' servers on it notice nothing.

It runs its own event loop in a thread: the test's loop may block in synchronous helpers (a
server starting or stopping, which itself talks to the database through the proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        # Counted across the proxy's life; read by tests to prove an outage was real.
        self.connections_forwarded = 0
        self.connections_refused = 0
        self.connections_cut = 0
        self._up = True
        self._open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def up(self) -> bool:
        return self._up

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        """Close every forwarded connection and refuse new ones until `restore()`."""
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._restore())

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _cut(self) -> None:
        self._up = False
        for client, upstream in list(self._open):
            self.connections_cut += 1
            client.transport.abort()
            upstream.transport.abort()
        self._open.clear()

    async def _restore(self) -> None:
        self._up = True

    async def _shutdown(self) -> None:
        await self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            self.connections_refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host,
                                                                 self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._open.add(pair)
        self.connections_forwarded += 1
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        finally:
            self._open.discard(pair)
            writer.transport.abort()
            up_writer.transport.abort()

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy one direction until either end goes away (a cut aborts both)."""
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(_CHUNK):
                sink.write(data)
                await sink.drain()
        # The other direction's pump ends once the transports are aborted by the caller.
        sink.transport.abort()
