"""Interop with the clients people actually run: the official JavaScript `yjs` + `y-websocket`
(spawned in node), a pycrdt client, and a y-py client, all in one document on a real server."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.support.api import Api
from tests.support.jsclient import JsYClient
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

pytestmark = pytest.mark.shared_server


async def _js_client(server: ServerProcess, api: Api, document_id: str) -> JsYClient:
    client = JsYClient()
    await client.start(server.ws_url, document_id, ticket=await api.ticket(document_id),
                       wait_for_ticket=True)
    await client.wait_synced()
    return client


async def test_official_js_clients_pycrdt_and_ypy_converge(
    live_server: ServerProcess, alice: Api
) -> None:
    if sys.version_info >= (3, 12):
        pytest.importorskip("y_py", reason="y-py ships wheels for Python <= 3.11 only")
    from tests.support.ypyclient import YPyClient

    document_id = await alice.create_document()
    js_one = await _js_client(live_server, alice, document_id)
    js_two = await _js_client(live_server, alice, document_id)
    # Yjs in JS draws 32-bit client ids; pycrdt draws up to 53 bits, which y-py's older engine
    # mangles when it references them (it encodes a wrong origin, and its edit never integrates
    # anywhere). Give the pycrdt peer a JS-like id so all four can meet.
    py = await YClient(
        f"{live_server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}",
        client_id=0x5EED_0001,
    ).connect_synced()
    ypy = await YPyClient(
        f"{live_server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}"
    ).connect()

    # Sequential edits first: each client builds on what the others wrote.
    await js_one.insert("body", 0, "js1 ")
    await js_two.wait_text("body", "js1 ")
    await js_two.insert("body", 4, "js2 ")
    await py.wait_text("js1 js2 ")
    await py.append("py ")
    await ypy.wait_text("js1 js2 py ")
    await ypy.insert(len("js1 js2 py "), "ypy")
    expected = "js1 js2 py ypy"
    await js_one.wait_text("body", expected)
    await js_two.wait_text("body", expected)
    await py.wait_text(expected)

    # Then all four at once at the same spot: they must agree on one order.
    await asyncio.gather(
        js_one.insert("body", 0, "A"), js_two.insert("body", 0, "B"),
        py.insert(0, "C"), ypy.insert(0, "D"),
    )
    await py.wait_for(lambda: len(str(py.text())) == len(expected) + 4)
    converged = str(py.text())
    assert sorted(converged[:4]) == ["A", "B", "C", "D"]
    await js_one.wait_text("body", converged)
    await js_two.wait_text("body", converged)
    await ypy.wait_text(converged)

    # A client joining later receives the full state from the server.
    late = await _js_client(live_server, alice, document_id)
    await late.wait_text("body", converged)

    for client in (js_one, js_two, late):
        await client.close()
    await py.close()
    await ypy.close()


async def test_js_client_sees_awareness_of_others_and_their_departure(
    live_server: ServerProcess, alice: Api
) -> None:
    document_id = await alice.create_document()
    js = await _js_client(live_server, alice, document_id)
    py = await YClient(
        f"{live_server.ws_url}/{document_id}?ticket={await alice.ticket(document_id)}"
    ).connect_synced()
    # Whatever name a client claims, others see the signed-in user's.
    identity = {"name": "Alice", "id": alice.user["id"]}
    await py.set_awareness({"user": {"name": "Py", "color": "#36c"}})
    await js.wait_awareness(py.awareness.client_id, {"user": {**identity, "color": "#36c"}})
    await js.set_awareness({"user": {"name": "Js"}, "cursor": None})
    await py.wait_for(
        lambda: {"user": identity, "cursor": None} in py.awareness.states.values()
    )
    await py.close()
    await js.wait_awareness(py.awareness.client_id, None)
    await js.close()
