"""The production reverse proxy (deploy/nginx.conf, run by a real nginx) in front of two real
Widen processes on one PostgreSQL database, as the compose file runs three.

What must hold without Redis (the many-processes issue's item 1 is pending): a client signs
in, opens a document and syncs it over a websocket through the proxy, the browser's way
(session cookie, the public Origin) and a ticket's; requests are spread over both processes,
and a client that lands on the process that did not take an edit still receives it at sync
(from the database); nginx's access log has the sockets but not their tickets.

How it fails (each seen so): without the Upgrade/Connection headers nginx forwards the
handshake as a plain GET and no websocket opens (404); with the Origin not passed on as sent,
the browser's connection is refused (4403 origin); with nginx's default log format, the
tickets are in its log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.api.deps import SESSION_COOKIE
from tests.support.api import Api
from tests.support.proxy import NginxProxy
from tests.support.server import ImageServerProcess, ServerProcess, free_port
from tests.support.yclient import YClient

TEXT = "written through nginx"


@pytest.fixture
async def behind_nginx(
    fresh_postgres: str, tmp_path: Path
) -> AsyncIterator[tuple[list[ServerProcess], NginxProxy]]:
    """Two processes on one database, and nginx in front; the processes allow the proxy's
    address as the browser's Origin, as the compose file sets WIDEN_ALLOWED_ORIGINS."""
    proxy_port = free_port()
    public = f"http://127.0.0.1:{proxy_port}"
    servers: list[ServerProcess] = [
        ImageServerProcess(fresh_postgres, tmp_path / f"server{n}.log", allowed_origins=public)
        for n in range(2)]
    proxy = NginxProxy([s.port for s in servers], port=proxy_port)
    try:
        await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))
        await asyncio.to_thread(proxy.start)
        yield servers, proxy
    finally:
        proxy.stop()
        for server in servers:
            server.stop()


async def _health(server: ServerProcess, field: str) -> int:
    """One number from a process's own /api/health (asked directly, not through the proxy)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        return int((await http.get("/api/health")).json()[field])


async def _wait_committed(servers: list[ServerProcess], count: int,
                          timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while sum([await _health(s, "updates_written") for s in servers]) < count:
            await asyncio.sleep(0.05)


def test_nginx_accepts_the_config() -> None:
    proxy = NginxProxy([free_port(), free_port()])
    try:
        result = proxy.check()
    finally:
        proxy.stop()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


async def test_a_client_signs_in_opens_a_document_and_syncs_through_the_proxy(
    behind_nginx: tuple[list[ServerProcess], NginxProxy],
) -> None:
    servers, proxy = behind_nginx
    async with Api(proxy.base_url) as api:
        await api.sign_up()
        document_id = await api.create_document("Behind the proxy")
        opened = await api.http.get(f"/api/documents/{document_id}")
        assert opened.status_code == 200, opened.text

        as_a_browser = {"Cookie": f"{SESSION_COOKIE}={api.token}", "Origin": proxy.base_url}
        first = await YClient(f"{proxy.ws_url}/{document_id}",
                              headers=as_a_browser).connect_synced()
        clients = [first]
        tickets: list[str] = []
        try:
            await first.append(TEXT)
            await _wait_committed(servers, 1)
            # Round robin alternates the two processes per request, and a ticket is one
            # request before its socket: a request in between moves the next socket over.
            while min([await _health(s, "connections") for s in servers]) == 0:
                assert len(clients) < 6, "every socket went to one process"
                assert (await api.http.get("/api/health")).status_code == 200
                tickets.append(await api.ticket(document_id))
                url = f"{proxy.ws_url}/{document_id}?ticket={tickets[-1]}"
                clients.append(await YClient(url).connect_synced())
                assert str(clients[-1].text()) == TEXT

            foreign = {**as_a_browser, "Origin": "http://elsewhere.example"}
            refused = await YClient(f"{proxy.ws_url}/{document_id}", headers=foreign).connect()
            assert await refused.wait_closed() == 4403
        finally:
            for client in clients:
                await client.close()
    # nginx logged the sockets, but not their tickets.
    assert f"GET /ws/{document_id} HTTP/1.1" in proxy.logs()
    assert tickets and not any(ticket in proxy.logs() for ticket in tickets)
