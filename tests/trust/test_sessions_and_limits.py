"""Sessions end where they should, and one user cannot hold the server's sockets (issue 7,
items 12 and 13, websocket side)."""

from __future__ import annotations

from collections.abc import Callable

from pycrdt import Text

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.sharing import share
from tests.support.yclient import YClient


def _url(server: ServerProcess, document_id: str, ticket: str) -> str:
    return f"{server.ws_url}/{document_id}?ticket={ticket}"


async def _open(server: ServerProcess, api: Api, document_id: str) -> YClient:
    return await YClient(_url(server, document_id, await api.ticket(document_id))).connect()


async def _synced(server: ServerProcess, api: Api, document_id: str) -> YClient:
    client = await _open(server, api, document_id)
    await client.wait_synced()
    return client


async def test_signing_out_ends_that_logins_sockets_and_unused_tickets(
    live_server: ServerProcess, make_api: Callable[[], Api]
) -> None:
    alice = await make_api().sign_up("Alice")
    document_id = await alice.create_document()
    other_login = make_api()
    await other_login.http.post("/api/auth/login", json={"email": alice.user["email"],
                                                         "password": "correct horse battery"})
    other_login.token = other_login.http.cookies["widen_session"]
    other_login.http.headers["Authorization"] = f"Bearer {other_login.token}"

    open_socket = await _synced(live_server, alice, document_id)
    unused_ticket = await alice.ticket(document_id)
    elsewhere = await _synced(live_server, other_login, document_id)

    assert (await alice.http.post("/api/auth/logout")).status_code == 204
    assert await open_socket.wait_closed() == 4401
    assert open_socket.close_reason.startswith("signed-out")
    late = await YClient(_url(live_server, document_id, unused_ticket)).connect()
    assert await late.wait_closed() == 4404
    # The same user's other login is untouched.
    await elsewhere.edit(lambda d: d.get("body", type=Text).insert(0, "still here"))
    assert not elsewhere.closed.is_set()
    assert (await alice.http.get("/api/me")).status_code == 401
    # A client left open when the test's loop ends never answers the server's closing
    # handshake, and the server's shutdown would wait for it.
    await elsewhere.close()


async def test_a_user_holds_at_most_the_configured_number_of_sockets(
    start_server: Callable[..., ServerProcess], make_api: Callable[[], Api]
) -> None:
    server = start_server(max_connections_per_user="3")
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    document_id = await alice.create_document()
    held = [await _synced(server, alice, document_id) for _ in range(3)]
    refused = await _open(server, alice, document_id)
    assert await refused.wait_closed() == 4429
    assert refused.close_reason.startswith("too-many-connections")
    # Someone else is not affected, and a socket given back is a socket free again.
    other = await bob.create_document()
    await _synced(server, bob, other)
    await held[0].close()
    await _synced(server, alice, document_id)


async def test_a_flood_of_messages_closes_that_socket_only(
    start_server: Callable[..., ServerProcess], make_api: Callable[[], Api]
) -> None:
    server = start_server(max_messages_per_second="20")
    alice = await make_api().sign_up("Alice")
    document_id = await alice.create_document()
    calm = await _synced(server, alice, document_id)
    flood = await _synced(server, alice, document_id)
    for _ in range(200):
        if flood.closed.is_set():
            break
        await flood.edit(lambda d: d.get("body", type=Text).insert(0, "x"))
    assert await flood.wait_closed() == 4429
    assert flood.close_reason.startswith("rate-limited")
    # Nothing it sent before the limit is lost, and the calm socket carries on. Others see an
    # edit once it is committed, so the calm socket first catches up with what was accepted;
    # otherwise its insert would race the flood's at the same position.
    accepted = str((await _synced(server, alice, document_id)).text())
    assert accepted and set(accepted) == {"x"}
    await calm.wait_text(accepted)
    await calm.insert(0, "calm ")
    late = await _synced(server, alice, document_id)
    assert str(late.text()) == "calm " + accepted
    assert not calm.closed.is_set()


async def test_refused_messages_cost_their_sender_that_document_for_a_while(
    start_server: Callable[..., ServerProcess], make_api: Callable[[], Api]
) -> None:
    """Each refusal makes the room rebuild its guard's copy of the whole document (tenths of a
    second for a large one): a member, a viewer included, cannot have that done as fast as
    it can reconnect."""
    server = start_server(ws_refusals_per_minute="3")
    owner = await make_api().sign_up("Owner")
    viewer = await make_api().sign_up("Viewer")
    shared = await share(server, owner, viewer, "viewer")
    for _ in range(3):
        writer = await _synced(server, viewer, shared.document_id)
        await writer.edit(lambda d: d.get("body", type=Text).insert(0, "x"))
        assert await writer.wait_closed() == 4403
    refused = await _open(server, viewer, shared.document_id)
    assert await refused.wait_closed() == 4429
    assert refused.close_reason.startswith("rate-limited"), refused.close_reason
    # Only that user on that document: the owner carries on, the viewer elsewhere too.
    await _synced(server, owner, shared.document_id)
    await _synced(server, viewer, await viewer.create_document())
