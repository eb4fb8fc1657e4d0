"""Live sync through a real server with pycrdt protocol clients: convergence, late joiners,
awareness, group commit, and what a clean restart keeps."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

import httpx
import pytest

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

pytestmark = pytest.mark.shared_server


async def _client(server: ServerProcess, api: Api, document_id: str) -> YClient:
    url = f"{server.ws_url}/{document_id}?ticket={await api.ticket(document_id)}"
    return await YClient(url).connect_synced()


async def test_two_clients_converge_and_a_late_joiner_gets_everything(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    one = await _client(live_server, alice, document_id)
    two = await _client(live_server, alice, document_id)
    await one.insert(0, "Hello")
    await two.wait_text("Hello")
    await two.append(", world")
    await one.insert(0, ">> ")
    await one.wait_text(">> Hello, world")
    await two.wait_text(">> Hello, world")

    late = await _client(live_server, alice, document_id)
    await late.wait_text(">> Hello, world")
    for client in (one, two, late):
        await client.close()


async def test_awareness_of_present_users_and_removal_on_leave(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    one = await _client(live_server, alice, document_id)
    await one.set_awareness({"cursor": 1, "user": {"color": "#c33"}})
    two = await _client(live_server, alice, document_id)
    one_id = one.awareness.client_id
    # A newcomer gets the states of those already here, with the server-set identity.
    expected = {"cursor": 1, "user": {"color": "#c33", "id": alice.user["id"], "name": "Alice"}}
    await two.wait_for(lambda: two.awareness.states.get(one_id) == expected)
    await two.set_awareness({"cursor": 2})
    await one.wait_for(lambda: two.awareness.client_id in one.awareness.states)
    # The server itself is nobody: only the two clients are present.
    assert set(one.awareness.states) == {one_id, two.awareness.client_id}

    await one.close()
    await two.wait_for(lambda: one_id not in two.awareness.states)
    await two.close()


async def test_bursts_are_group_committed_not_one_commit_per_keystroke(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    client = await _client(live_server, alice, document_id)
    for i in range(300):
        await client.append(str(i % 10))
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        async def written() -> dict[str, int]:
            return (await http.get("/api/health")).json()  # type: ignore[no-any-return]

        async with asyncio.timeout(10):
            while (health := await written())["updates_written"] < 300:
                await asyncio.sleep(0.05)
    assert health["pending_writes"] == 0
    assert health["write_batches"] <= 30, health
    await client.close()


async def test_others_see_an_edit_only_once_committed_and_without_waiting_out_the_flush(
    start_server: Callable[..., ServerProcess]
) -> None:
    """A client is shown only committed edits (so none it holds can be lost by a crash), and a
    long flush interval does not delay that: an edit someone waits to see commits at once."""
    server = start_server(flush_interval_ms="20000")
    api = await Api(server.base_url).sign_up()
    document_id = await api.create_document()
    writer = await _client(server, api, document_id)
    watcher = await _client(server, api, document_id)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for n in range(5):
            await writer.append(f"<{n}>")
            # Well within the 20 s flush interval.
            await watcher.wait_text("".join(f"<{i}>" for i in range(n + 1)), timeout=5)
            health = (await http.get("/api/health")).json()
            assert health["updates_written"] == n + 1, health
        # A late joiner's sync answer, too, shows only what is committed.
        late = await _client(server, api, document_id)
        assert str(late.text()) == "<0><1><2><3><4>"
    for client in (writer, watcher, late):
        await client.close()
    await api.aclose()


async def test_concurrent_first_join_lands_in_one_room(
    start_server: Callable[..., ServerProcess]
) -> None:
    live_server = start_server()  # its own: the test counts the server's rooms and sockets
    alice = await Api(live_server.base_url).sign_up()
    document_id = await alice.create_document()
    tickets = [await alice.ticket(document_id) for _ in range(50)]
    clients = [YClient(f"{live_server.ws_url}/{document_id}?ticket={t}") for t in tickets]
    await asyncio.gather(*(c.connect_synced(timeout=30) for c in clients))
    await asyncio.gather(*(c.insert(0, f"[{i}]") for i, c in enumerate(clients)))

    def has_all(client: YClient) -> bool:
        text = str(client.text())
        return all(f"[{i}]" in text for i in range(50))

    await asyncio.gather(*(c.wait_for(functools.partial(has_all, c), timeout=30) for c in clients))
    assert len({str(c.text()) for c in clients}) == 1
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        health = (await http.get("/api/health")).json()
    assert health["rooms"] == 1 and health["connections"] == 50
    await asyncio.gather(*(c.close() for c in clients))
    await alice.aclose()


async def test_clean_shutdown_flushes_and_restart_serves_everything(
    start_server: Callable[..., ServerProcess]
) -> None:
    # A long flush interval makes sure the edits are still unwritten when SIGTERM arrives. The
    # writer is alone: an edit someone else waits to see would be committed at once.
    server = start_server(flush_interval_ms="20000")
    api = await Api(server.base_url).sign_up()
    document_id = await api.create_document()
    writer = await _client(server, api, document_id)
    for word in ("alpha ", "beta ", "gamma"):
        await writer.append(word)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        deadline = time.monotonic() + 5
        while (pending := (await http.get("/api/health")).json()["pending_writes"]) < 3:
            assert time.monotonic() < deadline, f"{pending} of 3 edits arrived"
            await asyncio.sleep(0.02)
        assert pending == 3

    # uvicorn re-raises the signal after its graceful shutdown, so the exit status is -SIGTERM
    # either way; the log tells a graceful stop from a killed one.
    await server.aterminate()
    assert '"event": "server.stopped"' in server.logs()
    assert await writer.wait_closed() in (1001, 1012)  # going away / service restart

    server.restart()
    fresh = await _client(server, api, document_id)
    assert str(fresh.text()) == "alpha beta gamma"
    await fresh.close()
    await api.aclose()
