"""Limits hold across processes (issue 12, item 1): two real server processes on one
PostgreSQL database share their counts through a Redis of the test's own.

How it fails: with the limits in memory (each process counting alone, as before), the sixth
wrong password on the other process gets 401, and a user holds the cap's worth of sockets on
each process; with the limits in Redis but no care for its outage, a login while Redis is down
is a 500 (or, worse, an unthrottled guess), and a new socket on an open document is refused.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.cluster.conftest import StartCluster
from tests.support.api import PASSWORD, Api
from tests.support.events import EventClient
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess
from tests.support.yclient import YClient


async def _login(server: ServerProcess, email: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        return await http.post("/api/auth/login", json={"email": email, "password": password})


async def _socket(server: ServerProcess, api: Api, document_id: str) -> YClient:
    """A socket to the document on that process (tickets are in the database: any process
    hands them out)."""
    ticket = await api.ticket(document_id)
    return await YClient(f"{server.ws_url}/{document_id}?ticket={ticket}").connect()


async def _refused(client: YClient | EventClient) -> str:
    """The close reason of a socket the server refused with 4429."""
    if isinstance(client, YClient):
        assert await client.wait_closed() == 4429, client.close_reason
    else:
        assert client.close_code == 4429, client.close_reason
    return client.close_reason


def _warnings(server: ServerProcess, event: str, mentioning: str = "") -> int:
    entries = (json.loads(line) for line in server.logs().splitlines() if line.startswith("{"))
    return sum(1 for entry in entries
               if entry.get("event") == event and mentioning in entry.get("msg", ""))


async def test_failed_logins_on_one_process_count_on_the_other(
    start_cluster: StartCluster,
) -> None:
    first, second = await start_cluster(login_max_failures="5")
    async with Api(first.base_url) as alice:
        await alice.sign_up("Alice")
    email = alice.user["email"]
    statuses = [(await _login(first, email, f"guess {n}")).status_code for n in range(5)]
    assert statuses == [401] * 5
    stopped = await _login(second, email, "guess 5")
    assert stopped.status_code == 429, stopped.text
    assert 1 <= int(stopped.headers["retry-after"]) <= 300
    # Stopped on both, even with the right password.
    assert (await _login(first, email, PASSWORD)).status_code == 429


async def test_the_connection_cap_counts_sockets_on_every_process(
    start_cluster: StartCluster,
) -> None:
    first, second = await start_cluster(max_connections_per_user="2")
    async with Api(first.base_url) as alice:
        await alice.sign_up("Alice")
        document_id = await alice.create_document()
        held = [await _socket(first, alice, document_id),
                await _socket(second, alice, document_id)]
        channels = [await EventClient(first, alice.token).connect(),
                    await EventClient(second, alice.token).connect()]
        try:
            for client in held:
                await client.wait_synced()
            for server in (first, second):
                reason = await _refused(await _socket(server, alice, document_id))
                assert reason.startswith("too-many-connections")
                reason = await _refused(await EventClient(server, alice.token).connect())
                assert reason.startswith("too-many-connections")
            # A socket given back on one process is free again on the other.
            await held.pop(1).close()
            async with asyncio.timeout(10):
                while (again := await _socket(first, alice, document_id)).close_code == 4429:
                    await asyncio.sleep(0.05)
                held.append(again)
                await again.wait_synced()
        finally:
            for client in held:
                await client.close()
            for channel in channels:
                await channel.close()


async def test_with_redis_down_logins_are_refused_and_editing_goes_on(
    start_cluster: StartCluster, redis_server: RedisServer
) -> None:
    first, _ = await start_cluster(login_max_failures="5", registrations_per_hour="20",
                                   max_connections_per_user="8", ws_refusals_per_minute="10")
    async with Api(first.base_url) as alice:
        await alice.sign_up("Alice")
        email = alice.user["email"]
        document_id = await alice.create_document()
        editor = await _socket(first, alice, document_id)
        reader = await _socket(first, alice, document_id)
        opened = [editor, reader]
        try:
            for client in (editor, reader):
                await client.wait_synced()

            redis_server.kill()
            for password in ("a guess", PASSWORD):
                refused = await _login(first, email, password)
                assert refused.status_code == 503, refused.text
                assert refused.json()["code"] == "unavailable"
                assert "try again" in refused.json()["detail"]
                assert int(refused.headers["retry-after"]) >= 1
            async with httpx.AsyncClient(base_url=first.base_url) as http:
                signing_up = await http.post("/api/auth/register", json={
                    "email": "newcomer@example.org", "password": PASSWORD, "name": "New"})
            assert signing_up.status_code == 503, signing_up.text
            # The open document goes on: edits reach the others and are stored, and one more
            # socket opens (the cap and the refusal count let it through uncounted).
            await editor.append("written while Redis is down")
            await reader.wait_text("written while Redis is down")
            await first.wait_written(1)
            late = await _socket(first, alice, document_id)
            opened.append(late)
            await late.wait_synced()
            assert str(late.text()) == "written while Redis is down"
            assert not editor.closed.is_set() and not reader.closed.is_set()
            # The limits warn once for the outage, not once per refusal (search's claims warn
            # in words of their own if a round of theirs meets the outage too).
            assert _warnings(first, "redis.unreachable", mentioning="sign-in") == 1

            redis_server.start()
            async with asyncio.timeout(15):
                while (back := await _login(first, email, PASSWORD)).status_code == 503:
                    await asyncio.sleep(0.1)
            assert back.status_code == 200, back.text
            assert (await _login(first, email, "a guess")).status_code == 401
        finally:
            for client in opened:
                await client.close()
