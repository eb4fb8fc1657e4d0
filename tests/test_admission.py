"""A reconnect storm is shed with 1013 try-later, never 1011, and every client that comes back
gets in (issue 11 item 7, `app.admission`).

Fifty sockets open at once to a server that checks one admission at a time and lets each wait
a few milliseconds for its turn: some are admitted, the rest are told to try later; each of
those reconnects (as the browser app does on 1013) until it is in, and all end synced with the
same text. How it fails: without the gate, admissions queue for the database pool instead and
none is ever shed (the first assertion); a gate that closed with another code fails the
second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

SOCKETS = 50


async def test_a_storm_of_admissions_is_shed_with_1013_and_every_client_gets_in(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(admission_batch="1", admission_wait_seconds="0.005")
    async with Api(server.base_url) as owner:
        await owner.sign_up("Owner")
        document_id = await owner.create_document("Stormed")
        writer = await YClient(f"{server.ws_url}/{document_id}?ticket="
                               f"{await owner.ticket(document_id)}").connect_synced()
        await writer.append("all of it")
        tickets = await asyncio.gather(*(owner.ticket(document_id) for _ in range(SOCKETS)))
        storm = [YClient(f"{server.ws_url}/{document_id}?ticket={t}") for t in tickets]
        await asyncio.gather(*(c.connect() for c in storm))
        outcomes = await asyncio.gather(*(_admitted_or_closed(c) for c in storm))
        shed = [c for c, admitted in zip(storm, outcomes, strict=True) if not admitted]
        assert shed, "no admission was shed"
        assert {(c.close_code, c.close_reason.split(":")[0]) for c in shed} == {
            (1013, "try-later")}
        clients = [c for c, admitted in zip(storm, outcomes, strict=True) if admitted]
        for _ in shed:
            clients.append(await _reconnect_until_in(owner, server, document_id))
        try:
            assert len(clients) == SOCKETS
            for client in clients:
                await client.wait_text("all of it")
        finally:
            for client in [writer, *clients]:
                await client.close()
    assert '"event": "ws.admission_failed"' not in server.logs()


async def _admitted_or_closed(client: YClient) -> bool:
    done, _ = await asyncio.wait([asyncio.create_task(client.synced.wait()),
                                  asyncio.create_task(client.closed.wait())],
                                 timeout=30, return_when=asyncio.FIRST_COMPLETED)
    assert done, "neither synced nor closed"
    return client.synced.is_set()


async def _reconnect_until_in(api: Api, server: ServerProcess, document_id: str) -> YClient:
    """As the browser app does on 1013: back off, then a fresh ticket and socket."""
    delay = 0.01
    for _ in range(50):
        await asyncio.sleep(delay)
        client = await YClient(f"{server.ws_url}/{document_id}?ticket="
                               f"{await api.ticket(document_id)}").connect()
        if await _admitted_or_closed(client):
            return client
        assert client.close_code == 1013, (client.close_code, client.close_reason)
        delay = min(0.5, delay * 2)
    raise AssertionError("never admitted")
