"""The websocket transport: a direct write framed once per broadcast, no reference cycle that
would keep a closed connection alive, and a receive queue for one reader."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import Iterator

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from app.ws_protocol import (
    DIRECT_SEND,
    DirectSend,
    ReceiveQueue,
    WidenWebSocketProtocol,
    binary_frame,
)


async def _app(scope: object, receive: object, send: object) -> None:
    """Never called: the protocol is built, not connected."""


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_broadcast_is_framed_once_for_all_its_recipients() -> None:
    payload = bytes(200)
    first = binary_frame(payload)
    assert binary_frame(payload) is first
    assert first == Frame(Opcode.BINARY, payload).serialize(mask=False)
    other = bytes(70_000)  # a longer length field
    assert binary_frame(other) == Frame(Opcode.BINARY, other).serialize(mask=False)


async def test_a_protocol_whose_scope_offers_the_direct_write_is_freed_without_a_collection(
    collector_off: None,
) -> None:
    """The server raises the collector's thresholds: a cycle through the scope kept every
    closed connection until a full collection (400 MB in a 10,000-client storm)."""
    config = Config(app=_app, ws_per_message_deflate=False, lifespan="off")
    protocol = WidenWebSocketProtocol(config, ServerState(), {})
    direct = DirectSend(protocol)
    protocol.scope = {"extensions": {DIRECT_SEND: direct}}  # type: ignore[typeddict-item, dict-item]
    gone = weakref.ref(protocol)
    del protocol
    assert gone() is None
    assert not direct(b"after the connection")


async def test_the_receive_queue_hands_its_reader_every_message_in_order() -> None:
    queue = ReceiveQueue()
    assert queue.empty()
    queue.put_nowait("connect")
    queue.put_nowait("first")
    assert not queue.empty()
    assert [await queue.get(), await queue.get()] == ["connect", "first"]
    assert queue.empty()

    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done(), "nothing to read yet"
    queue.put_nowait("second")
    queue.put_nowait("third")
    assert await asyncio.wait_for(waiting, 1) == "second"
    assert await queue.get() == "third"


async def test_a_cancelled_read_loses_nothing_and_a_second_reader_is_refused() -> None:
    queue = ReceiveQueue()
    first = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one reader"):
        await queue.get()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    queue.put_nowait("after the cancel")
    assert await asyncio.wait_for(queue.get(), 1) == "after the cancel"


async def test_the_protocol_reads_through_the_light_queue() -> None:
    config = Config(app=_app, ws_per_message_deflate=False, lifespan="off")
    protocol = WidenWebSocketProtocol(config, ServerState(), {})
    assert isinstance(protocol.queue, ReceiveQueue)


async def test_the_protocol_keeps_its_warnings_and_not_a_line_per_socket() -> None:
    config = Config(app=_app, ws_per_message_deflate=False, lifespan="off")
    protocol = WidenWebSocketProtocol(config, ServerState(), {})
    assert not protocol.logger.isEnabledFor(logging.INFO)
    assert protocol.logger.isEnabledFor(logging.WARNING)
