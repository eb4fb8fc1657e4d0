"""Several real Widen processes on one PostgreSQL database and one Redis serve the same
documents (issue 12, DESIGN §6 "Multi-process").

Every process here is a real `python -m app` (tests/support/server.py) with `WIDEN_REDIS_URL`
set to a redis-server of the test's own, which the Redis test kills and starts again; the
kill -9 test puts the production nginx config (tests/support/proxy.py) in front.

How they fail: without the Redis broker (`rooms.link_to` not called in app/main.py), an edit
made on one process reaches clients of another only when they reconnect: the convergence,
awareness and Redis tests time out; without the control channel (`app.live`), a revocation
made on one process leaves the member's socket on another open; with live events on an
in-process broker, the member's event channel there never hears of a rename; without the
repair after an outage (`Rooms._repair`), edits made while Redis was down reach the other
process's clients only at the next heartbeat's repair, and never when that is an hour away;
without the compaction lease and the row check (`crdt.update_log`), two processes compacting
at once leave two snapshots.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from crdt.schema import KIND_SNAPSHOT, doc_updates
from crdt.update_log import UpdateLog
from tests.cluster.conftest import StartCluster
from tests.support.api import Api
from tests.support.events import EventClient, about
from tests.support.proxy import NginxProxy
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, free_port
from tests.support.yclient import YClient

REPAIR_SECONDS = 1.0
CONVERGE_SECONDS = 20.0

Cluster = Callable[..., Awaitable[list[ServerProcess]]]


@pytest.fixture
def cluster(start_cluster: StartCluster) -> Cluster:
    """Start `count` more processes, with the repair heartbeat at `REPAIR_SECONDS` unless
    a test says otherwise."""
    async def start(count: int, **settings: str) -> list[ServerProcess]:
        return await start_cluster(count, **{"repair_seconds": str(REPAIR_SECONDS),
                                             **settings})

    return start


async def connect(api: Api, server_or_proxy: ServerProcess | NginxProxy, document_id: str,
                  *, resume: YClient | None = None) -> YClient:
    """A synced client on that process (a ticket is good on any process: it is a row)."""
    ticket = await api.ticket(document_id)
    url = f"{server_or_proxy.ws_url}/{document_id}?ticket={ticket}"
    return await YClient(url, resume=resume).connect_synced()


async def converged(clients: list[YClient], pieces: list[str],
                    timeout: float = CONVERGE_SECONDS) -> None:
    """Every client holds the same text, and every piece in it."""
    deadline = time.monotonic() + timeout
    while True:
        texts = [str(c.text()) for c in clients]
        missing = [p for p in pieces if p not in texts[0]]
        if not missing and len(set(texts)) == 1:
            return
        if time.monotonic() > deadline:
            lengths = [len(t) for t in texts]
            raise AssertionError(f"not converged after {timeout} s: lengths {lengths}, "
                                 f"{len(missing)} pieces missing from the first, e.g. "
                                 f"{missing[:3]}")
        await asyncio.sleep(0.1)


async def burst(client: YClient, label: str, count: int, pause: float) -> list[str]:
    """`count` edits, each a piece of text naming its writer and number."""
    pieces = []
    for n in range(count):
        piece = f"[{label}:{n}]"
        await client.append(piece)
        pieces.append(piece)
        await asyncio.sleep(pause)
    return pieces


async def test_clients_on_two_then_three_processes_edit_one_document_and_converge(
    cluster: Cluster,
) -> None:
    first, second = await cluster(2)
    async with Api(first.base_url) as owner:
        document_id, clients = await _two_on_each(owner, first, second, "Shared by processes")
        try:
            results = await asyncio.gather(*(burst(c, f"c{i}", 15, 0.02)
                                             for i, c in enumerate(clients)))
            pieces = [p for r in results for p in r]
            await converged(clients, pieces)

            # Awareness crosses too, bound to the sender's identity.
            await clients[0].set_awareness({"cursor": {"anchor": 1}, "user": {"name": "x"}})
            await clients[1].wait_for(
                lambda: any(isinstance(s, dict) and s.get("user", {}).get("name") == "Owner"
                            for s in clients[1].awareness.states.values()))

            (third,) = await cluster(1)
            fresh = [await connect(owner, server, document_id)
                     for server in (first, second, third)]
            for client in fresh:
                assert all(p in str(client.text()) for p in pieces)
            clients += fresh
            more = await asyncio.gather(*(burst(c, f"d{i}", 5, 0.02)
                                          for i, c in enumerate(fresh)))
            await converged(clients, pieces + [p for r in more for p in r])
        finally:
            for client in clients:
                await client.close()


async def test_events_and_a_revocation_through_one_process_reach_the_member_on_another(
    cluster: Cluster,
) -> None:
    """The member's live event channel hears of a rename made on the other process, and the
    revocation closes the member's document socket there within a second."""
    first, second = await cluster(2)
    async with Api(first.base_url) as owner, Api(second.base_url) as editor:
        await owner.sign_up("Owner")
        await editor.sign_up("Editor")
        document_id = await owner.create_document("Revoked elsewhere")
        await owner.add_member(editor, document_id, "editor")
        socket = await connect(editor, second, document_id)
        events = await EventClient(second, editor.token).connect()
        try:
            renamed = await owner.http.patch(f"/api/documents/{document_id}",
                                             json={"title": "Renamed on the first"})
            assert renamed.status_code == 200, renamed.text
            event = await events.wait_for(about(document_id, "document", change="renamed"))
            assert event is not None and event["title"] == "Renamed on the first"
            await socket.append("before")
            revoked_at = time.monotonic()
            response = await owner.http.delete(
                f"/api/documents/{document_id}/members/{editor.user['id']}")
            assert response.status_code == 204, response.text
            code = await socket.wait_closed(timeout=5)
            assert code == 4403, (code, socket.close_reason)
            assert time.monotonic() - revoked_at < 1.0
        finally:
            await socket.close()
            await events.close()


async def test_a_process_killed_mid_burst_loses_nothing_its_clients_reconnect_elsewhere(
    cluster: Cluster,
) -> None:
    proxy_port = free_port()
    public = f"http://127.0.0.1:{proxy_port}"
    first, second = await cluster(2, allowed_origins=public)
    proxy = NginxProxy([first.port, second.port], port=proxy_port)
    await asyncio.to_thread(proxy.start)
    clients: list[YClient] = []
    try:
        async with Api(proxy.base_url) as owner:
            await owner.sign_up("Owner")
            document_id = await owner.create_document("Survives a kill")
            # Round robin spreads requests over the processes; a ticket is one request before
            # its socket, so a request in between moves the next socket over.
            while min([await _connections(s) for s in (first, second)]) < 3:
                assert len(clients) < 12, "the sockets do not spread over both processes"
                clients.append(await connect(owner, proxy, document_id))
                if await _connections(first) != await _connections(second):
                    assert (await owner.http.get("/api/health")).status_code == 200
            sent: list[list[tuple[float, str]]] = [[] for _ in clients]

            async def keep_writing(index: int, stop: asyncio.Event) -> None:
                n = 0
                while not stop.is_set():
                    client = clients[index]
                    if client.closed.is_set():
                        await asyncio.sleep(0.05)
                        continue
                    piece = f"[k{index}:{n}]"
                    at = time.monotonic()
                    # If the socket just dropped, the edit is in the client's doc: it goes
                    # out when the client reconnects.
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await client.append(piece)
                    sent[index].append((at, piece))
                    n += 1
                    await asyncio.sleep(0.03)

            stop = asyncio.Event()
            writers = [asyncio.create_task(keep_writing(i, stop)) for i in range(len(clients))]
            await asyncio.sleep(2.0)
            first.kill()
            killed_at = time.monotonic()
            # The survivor already holds every edit sent more than a second before the kill.
            survivor_view = await connect(owner, second, document_id)
            old = [p for pieces in sent for at, p in pieces if at < killed_at - 1.0]
            await converged([survivor_view], old, timeout=10)
            await survivor_view.close()
            # The killed process's clients reconnect through the proxy, to the survivor.
            dropped = [i for i, c in enumerate(clients) if c.closed.is_set()]
            assert dropped, "no client was on the killed process"
            for i in dropped:
                clients[i] = await connect(owner, proxy, document_id, resume=clients[i])
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*writers)
            everything = [p for pieces in sent for _, p in pieces]
            await converged(clients, everything)
            late = await connect(owner, second, document_id)
            clients.append(late)
            await converged([late], everything)
    finally:
        for client in clients:
            await client.close()
        proxy.stop()


@pytest.mark.parametrize("repair_seconds", ["3600", "1"], ids=["outage-repair", "both-repairs"])
async def test_after_redis_restarts_mid_burst_every_process_and_client_holds_every_edit(
    cluster: Cluster, redis_server: RedisServer, repair_seconds: str,
) -> None:
    """With the heartbeat an hour away, only the repair after the outage can make up for
    what it dropped."""
    first, second = await cluster(2, repair_seconds=repair_seconds)
    async with Api(first.base_url) as owner:
        document_id, clients = await _two_on_each(owner, first, second,
                                                  "Through a Redis restart")
        try:
            writing = asyncio.gather(*(burst(c, f"r{i}", 40, 0.05)
                                       for i, c in enumerate(clients)))
            await asyncio.sleep(0.5)
            redis_server.kill()
            await asyncio.sleep(1.0)  # edits made now reach only their own process's clients
            await asyncio.to_thread(redis_server.start)
            pieces = [p for r in await writing for p in r]
            await converged(clients, pieces, timeout=CONVERGE_SECONDS + REPAIR_SECONDS)
            for server in (first, second):
                late = await connect(owner, server, document_id)
                clients.append(late)
                await converged([late], pieces)
            assert all('"broker.reconnected"' in s.logs() for s in (first, second))
        finally:
            for client in clients:
                await client.close()


async def test_two_processes_compacting_one_document_at_once_leave_one_snapshot(
    fresh_postgres: str, tmp_path: Path,
) -> None:
    """Two update logs with engines of their own (as two processes have) compact the same
    document at the same moment, repeatedly: one snapshot, and the text intact."""
    server = ServerProcess(fresh_postgres, tmp_path / "server.log")
    await asyncio.to_thread(server.start)  # migrates the database
    engines = [create_async_engine(fresh_postgres) for _ in range(2)]
    try:
        async with Api(server.base_url) as owner:
            await owner.sign_up("Owner")
            document_id = await owner.create_document("Compacted once")
            client = await connect(owner, server, document_id)
            try:
                for round_ in range(3):
                    pieces = await burst(client, f"p{round_}", 30, 0)
                    await server.wait_written(30 * (round_ + 1))
                    logs = [UpdateLog(engine, compaction_threshold=10 ** 9)
                            for engine in engines]
                    await asyncio.gather(*(log.compact(document_id) for log in logs))
                    snapshots = await _count(engines[0], document_id, snapshots=True)
                    assert snapshots == 1, f"round {round_}: {snapshots} snapshots"
                    assert await _count(engines[0], document_id) == 1
                    fresh = await connect(owner, server, document_id)
                    await fresh.close()
                    assert all(p in str(fresh.text()) for p in pieces)
            finally:
                await client.close()
    finally:
        for engine in engines:
            await engine.dispose()
        server.stop()


async def _two_on_each(owner: Api, first: ServerProcess, second: ServerProcess,
                       title: str) -> tuple[str, list[YClient]]:
    """The owner signs up and makes a document; two clients of theirs on each process."""
    await owner.sign_up("Owner")
    document_id = await owner.create_document(title)
    clients = [await connect(owner, server, document_id)
               for server in (first, second, first, second)]
    return document_id, clients


async def _connections(server: ServerProcess) -> int:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        return int((await http.get("/api/health")).json()["connections"])


async def _count(engine: Any, document_id: str, *, snapshots: bool = False) -> int:
    query = select(func.count()).select_from(doc_updates).where(
        doc_updates.c.document_id == document_id)
    if snapshots:
        query = query.where(doc_updates.c.kind == KIND_SNAPSHOT)
    async with engine.connect() as conn:
        return int(await conn.scalar(query))
