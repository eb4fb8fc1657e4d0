"""A client that stops reading: once what waits for it reaches its peer's bound (8 MiB), the
server closes it with 1013 rather than buffer the 24 MB relayed meanwhile, while the room's
other clients go on receiving every edit."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest
import websockets

from crdt.protocol import CloseCode
from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

# Far more than the stalled client's socket buffers, the server's transport buffer and its
# peer queue (8 MiB) hold together: 40 pastes of 600 kB.
PASTES = 40
PASTE_CHARS = 600_000


@pytest.mark.timing
async def test_a_client_that_stops_reading_is_closed_with_1013_and_the_others_keep_up(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    writer = await YClient(f"{live_server.ws_url}/{document_id}"
                           f"?ticket={await alice.ticket(document_id)}").connect_synced()
    reader = await YClient(f"{live_server.ws_url}/{document_id}"
                           f"?ticket={await alice.ticket(document_id)}").connect_synced()
    # A client that never reads: a small receive buffer, and a websocket that stops taking
    # frames off the socket once one message waits unread.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", int(live_server.base_url.rsplit(":", 1)[1])))
    stalled = await websockets.connect(
        f"{live_server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}",
        sock=raw, max_queue=1, max_size=None, compression=None)

    started = time.monotonic()
    for index in range(PASTES):
        await writer.append(chr(ord("a") + index % 26) * PASTE_CHARS)
        await asyncio.sleep(0.05)
    expected = str(writer.text())
    await reader.wait_text(expected, timeout=60)
    took = time.monotonic() - started

    # Reading again, the stalled client finds what was queued for it, then the close.
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(60):
            async for _message in stalled:
                pass
    assert stalled.close_code == CloseCode.TRY_AGAIN_LATER, stalled.close_code
    assert (stalled.close_reason or "").startswith("try-later"), stalled.close_reason
    assert took < 45, f"the reader took {took:.1f} s to receive every paste"
    for client in (writer, reader):
        await client.close()
