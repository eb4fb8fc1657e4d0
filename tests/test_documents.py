"""Documents are private by default: to anyone else they do not exist, on every route."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest
import websockets

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

pytestmark = pytest.mark.shared_server


async def test_create_list_get_rename_delete(alice: Api) -> None:
    document_id = await alice.create_document("Grant proposal")
    listed = (await alice.http.get("/api/documents")).json()
    assert [(d["id"], d["title"], d["role"]) for d in listed] == [
        (document_id, "Grant proposal", "owner")
    ]
    response = await alice.http.patch(f"/api/documents/{document_id}", json={"title": "Final"})
    assert response.status_code == 200 and response.json()["title"] == "Final"
    assert (await alice.http.get(f"/api/documents/{document_id}")).json()["title"] == "Final"
    assert (await alice.http.delete(f"/api/documents/{document_id}")).status_code == 204
    assert (await alice.http.get(f"/api/documents/{document_id}")).status_code == 404
    assert (await alice.http.get("/api/documents")).json() == []


async def test_documents_need_a_session(live_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        assert (await http.get("/api/documents")).status_code == 401
        assert (await http.post("/api/documents", json={"title": "x"})).status_code == 401


def _routes(document_id: str) -> list[tuple[str, str, dict[str, str] | None]]:
    return [
        ("GET", f"/api/documents/{document_id}", None),
        ("PATCH", f"/api/documents/{document_id}", {"title": "mine now"}),
        ("DELETE", f"/api/documents/{document_id}", None),
        ("POST", f"/api/documents/{document_id}/ticket", None),
    ]


async def test_another_user_gets_exactly_the_404_of_a_missing_id(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document("Private draft")
    missing_id = str(uuid.uuid4())
    for (method, path, body), (_, missing_path, _) in zip(
        _routes(document_id), _routes(missing_id), strict=True
    ):
        theirs = await bob.http.request(method, path, json=body)
        missing = await bob.http.request(method, missing_path, json=body)
        assert theirs.status_code == missing.status_code == 404, (method, path)
        assert theirs.json() == missing.json()
        assert theirs.headers.get("content-length") == missing.headers.get("content-length")
    assert (await bob.http.get("/api/documents")).json() == []
    # Nothing Bob tried changed Alice's document.
    response = await alice.http.get(f"/api/documents/{document_id}")
    assert response.status_code == 200 and response.json()["title"] == "Private draft"


async def test_another_users_websocket_is_refused_like_a_missing_document(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document()
    codes = []
    for target in (document_id, str(uuid.uuid4())):
        # Bob cannot even get a ticket for either; try his ticket for his own doc elsewhere.
        own = await bob.create_document()
        ticket = await bob.ticket(own)
        client = YClient(f"{live_server.ws_url}/{target}?ticket={ticket}")
        await client.connect()
        codes.append(await client.wait_closed())
    assert codes == [4404, 4404]


async def test_tickets_are_single_use_bound_and_short_lived(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    other_id = await alice.create_document()
    ticket = await alice.ticket(document_id)

    wrong_doc = YClient(f"{live_server.ws_url}/{other_id}?ticket={ticket}")
    await wrong_doc.connect()
    assert await wrong_doc.wait_closed() == 4404

    first = await YClient(f"{live_server.ws_url}/{document_id}?ticket={ticket}").connect_synced()
    reused = YClient(f"{live_server.ws_url}/{document_id}?ticket={ticket}")
    await reused.connect()
    assert await reused.wait_closed() == 4404
    assert not first.closed.is_set()
    await first.close()

    forged = YClient(f"{live_server.ws_url}/{document_id}?ticket=not-a-ticket")
    await forged.connect()
    assert await forged.wait_closed() == 4404


async def test_expired_ticket_is_refused(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(ticket_ttl_seconds="0.5")
    api = Api(server.base_url)
    try:
        await api.sign_up()
        document_id = await api.create_document()
        ticket = await api.ticket(document_id)
        await asyncio.sleep(0.8)
        client = YClient(f"{server.ws_url}/{document_id}?ticket={ticket}")
        await client.connect()
        assert await client.wait_closed() == 4404
    finally:
        await api.aclose()


async def test_browser_socket_needs_cookie_and_allowed_origin(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    url = f"{live_server.ws_url}/{document_id}"
    cookie = f"widen_session={alice.token}"
    cases = [
        ({}, 4401),
        ({"Cookie": cookie, "Origin": "http://evil.example"}, 4403),
        ({"Cookie": cookie, "Origin": live_server.base_url}, None),
    ]
    for headers, expected in cases:
        async with websockets.connect(url, additional_headers=headers) as ws:
            if expected is None:
                assert (await ws.recv())[:2] == b"\x00\x00"  # the server's sync step 1
            else:
                await ws.wait_closed()
                assert ws.close_code == expected, headers
