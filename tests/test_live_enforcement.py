"""Permissions enforced on live websockets, through a real server with raw protocol clients:
scoped editors, reviewers, viewers (none of whom writes comments here: those are server
records), revocation and downgrades on open connections, awareness identity, and the official
JS client as a viewer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets
from pycrdt import Awareness, Doc, Map, XmlFragment, XmlText, create_awareness_message

from crdt.protocol import create_permission_denied_message
from tests.support.api import Api, by_link
from tests.support.jsclient import JsYClient
from tests.support.server import ServerProcess
from tests.support.sharing import append as _append
from tests.support.sharing import connect, share
from tests.support.sharing import text_of as _text
from tests.support.yclient import YClient

pytestmark = pytest.mark.shared_server


def _fragment(doc: Doc[Any], root: str) -> XmlFragment:
    fragment: XmlFragment = doc.get(root, type=XmlFragment)
    return fragment


async def _fresh_view(server: ServerProcess, api: Api, document_id: str) -> YClient:
    """What a newcomer gets: the server's live state (and, after a restart, the stored one)."""
    return await connect(server, api, document_id)


async def _assert_rejected(client: YClient) -> None:
    assert await client.wait_closed() == 4403
    assert client.auth_messages, "the client was not told why"
    assert client.auth_messages[0][:2] == create_permission_denied_message("")[:2]


async def test_section_editor_writes_only_its_section(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor", scoped=True)
    a, b = shared.section_a, shared.section_b
    bob_client = await connect(live_server, bob, shared.document_id)
    await _append(bob_client, a, " +bob")
    await shared.owner.wait_for(lambda: _text(shared.owner, a) == "alpha +bob")

    forbidden: dict[str, Callable[[YClient], Awaitable[object]]] = {
        "insert into B": lambda c: _append(c, b, " HACK"),
        "delete from B": lambda c: c.edit(lambda d: _fragment(d, b).children.__delitem__(0)),
        "new root": lambda c: _append(c, "section:invented", "HACK"),
        # Comments are server records: the old root is nobody's to write.
        "comments root": lambda c: c.edit(
            lambda d: d.get("comments", type=Map).__setitem__("c1", "HACK")),
    }
    for name, attack in forbidden.items():
        attacker = await connect(live_server, bob, shared.document_id)
        await attack(attacker)
        await _assert_rejected(attacker)
        # A marker edit by the owner after the attack: once it arrives, the attack would have.
        await _append(shared.owner, a, f" [{name}]")
        bystander = await _fresh_view(live_server, alice, shared.document_id)
        assert _text(bystander, b) == "bravo", name
        assert "section:invented" not in set(bystander.doc.keys()), name
        assert not list(bystander.doc.get("comments", type=Map).keys()), name
        await bystander.close()
    assert _text(shared.owner, b) == "bravo"
    assert "HACK" not in str(shared.owner.doc.get_update())
    await bob_client.close()

    # And after a restart, the stored document never held any of it.
    await live_server.aterminate()
    live_server.restart()
    stored = await _fresh_view(live_server, alice, shared.document_id)
    assert _text(stored, b) == "bravo" and _text(stored, a).startswith("alpha +bob")
    assert "section:invented" not in set(stored.doc.keys())


async def test_forbidden_offline_edit_replayed_in_sync_step_2_is_rejected(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor", scoped=True)
    bob_client = await connect(live_server, bob, shared.document_id)
    await bob_client.close()
    # Offline: edit section B locally, then reconnect; the handshake's step 2 carries it.
    with bob_client.doc.transaction():
        _fragment(bob_client.doc, shared.section_b).children.append(XmlText(" OFFLINE"))
    url = f"{live_server.ws_url}/{shared.document_id}?ticket={await bob.ticket(shared.document_id)}"
    replay = await YClient(url, resume=bob_client).connect()
    await _assert_rejected(replay)
    view = await _fresh_view(live_server, alice, shared.document_id)
    assert _text(view, shared.section_b) == "bravo"


async def test_reviewer_and_viewer_write_nothing_into_the_document(
    live_server: ServerProcess, alice: Api, bob: Api, make_api: Callable[[], Api]
) -> None:
    """A reviewer comments through the comments API (tests/trust/test_comments.py); in the
    CRDT it writes nothing, like a viewer."""
    shared = await share(live_server, alice, bob, "reviewer")
    reviewer = await connect(live_server, bob, shared.document_id)
    assert _text(reviewer, shared.section_a) == "alpha"  # reads
    await _append(reviewer, shared.section_a, " EDIT")
    await _assert_rejected(reviewer)
    reviewer = await connect(live_server, bob, shared.document_id)
    await reviewer.edit(lambda d: d.get("comments", type=Map).__setitem__("r1", "typo"))
    await _assert_rejected(reviewer)

    carol = await make_api().sign_up("Carol")
    response = await alice.http.post(f"/api/documents/{shared.document_id}/invitations", json={
        "email": carol.user["email"], "role": "viewer", "reason": "progress"})
    await carol.http.post(f"/api/invitations/{response.json()['id']}/accept",
                          json=by_link(response.json()))
    viewer = await connect(live_server, carol, shared.document_id)
    assert _text(viewer, shared.section_a) == "alpha"  # reads
    await viewer.edit(lambda d: d.get("comments", type=Map).__setitem__("v1", "no"))
    await _assert_rejected(viewer)
    view = await _fresh_view(live_server, alice, shared.document_id)
    assert _text(view, shared.section_a) == "alpha"
    assert not list(view.doc.get("comments", type=Map).keys())


@pytest.mark.timing
async def test_revocation_closes_the_socket_within_a_second_and_drops_late_edits(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    bob_client = await connect(live_server, bob, shared.document_id)
    await _append(bob_client, shared.section_a, " before")
    await shared.owner.wait_for(lambda: _text(shared.owner, shared.section_a) == "alpha before")

    started = time.monotonic()
    response = await alice.http.delete(
        f"/api/documents/{shared.document_id}/members/{bob.user['id']}")
    assert response.status_code == 204
    with contextlib.suppress(websockets.ConnectionClosed):
        await _append(bob_client, shared.section_a, " AFTER")
    assert await bob_client.wait_closed(timeout=1.0) == 4403
    assert time.monotonic() - started < 1.0
    # A marker from the owner proves the relay path is idle; "AFTER" never arrived.
    await _append(shared.owner, shared.section_a, " marker")
    view = await _fresh_view(live_server, alice, shared.document_id)
    assert _text(view, shared.section_a) == "alpha before marker"
    assert (await bob.http.get(f"/api/documents/{shared.document_id}")).status_code == 404


@pytest.mark.timing
async def test_downgrade_to_viewer_takes_effect_on_the_open_connection(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    bob_client = await connect(live_server, bob, shared.document_id)
    started = time.monotonic()
    response = await alice.http.patch(
        f"/api/documents/{shared.document_id}/members/{bob.user['id']}", json={"role": "viewer"})
    assert response.status_code == 200, response.text
    with contextlib.suppress(websockets.ConnectionClosed):
        await _append(bob_client, shared.section_a, " LATE")
    # Within the second the socket closes: 4409 "access changed, reconnect", or 4403 if the
    # late write reached the already-narrowed connection first...
    assert await bob_client.wait_closed(timeout=1.0) in (4403, 4409)
    assert time.monotonic() - started < 1.0
    await _append(shared.owner, shared.section_a, " owner")
    # ...where it still reads, but no longer writes. (Its rejected " LATE" stays local: a
    # client reconnecting with it would be refused again, so the page starts from the server.)
    again = await connect(live_server, bob, shared.document_id)
    await again.wait_for(lambda: _text(again, shared.section_a) == "alpha owner")
    await _append(again, shared.section_a, " LATER")
    await _assert_rejected(again)
    view = await _fresh_view(live_server, alice, shared.document_id)
    assert _text(view, shared.section_a) == "alpha owner"


async def test_awareness_shows_the_signed_in_user_whatever_a_client_claims(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    owner = shared.owner
    await owner.set_awareness({"user": {"name": "whatever", "color": "#111"}})
    bob_client = await connect(live_server, bob, shared.document_id)
    owner_id = owner.awareness.client_id
    await bob_client.wait_for(lambda: owner_id in bob_client.awareness.states)

    # Bob claims to be Alice...
    await bob_client.set_awareness({"user": {"name": "Alice", "id": alice.user["id"]}})
    bob_id = bob_client.awareness.client_id
    await owner.wait_for(lambda: bob_id in owner.awareness.states)
    assert owner.awareness.states[bob_id]["user"] == {"name": "Bob", "id": bob.user["id"]}

    # ...and tries to overwrite and then clear Alice's own awareness entry.
    impostor: Doc[Any] = Doc(client_id=owner_id)
    fake = Awareness(impostor)
    fake.set_local_state({"user": {"name": "Mallory"}})
    fake._meta[owner_id]["clock"] = 1000
    await bob_client.send(create_awareness_message(fake.encode_awareness_update([owner_id])))
    fake.set_local_state(None)
    await bob_client.send(create_awareness_message(fake.encode_awareness_update([owner_id])))
    # A later change of Bob's own state arrives; the spoofed ones, sent before it, did not.
    await bob_client.set_awareness({"typing": True})
    await owner.wait_for(lambda: owner.awareness.states.get(bob_id, {}).get("typing") is True)
    watcher = await connect(live_server, alice, shared.document_id)
    await watcher.wait_for(lambda: owner_id in watcher.awareness.states)
    assert watcher.awareness.states[owner_id]["user"]["name"] == "Alice"
    assert bob_client.close_code is None  # spoofing is dropped, not a protocol error


async def test_official_js_client_as_viewer_reads_and_its_writes_reach_no_one(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document()
    owner = await connect(live_server, alice, document_id)
    await owner.append("shared text")
    response = await alice.http.post(f"/api/documents/{document_id}/invitations", json={
        "email": bob.user["email"], "role": "viewer", "reason": "review"})
    await bob.http.post(f"/api/invitations/{response.json()['id']}/accept",
                        json=by_link(response.json()))

    js = JsYClient()
    await js.start(live_server.ws_url, document_id, ticket=await bob.ticket(document_id),
                   wait_for_ticket=True)
    try:
        await js.wait_synced()
        await js.wait_text("body", "shared text")
        since = len(js.events)
        await js.insert("body", 0, "VIEWER WROTE ")
        closed = await js.wait_event(lambda e: e.get("event") == "connection-close", since=since)
        assert closed["code"] == 4403
        await owner.append(" and more")
        view = await _fresh_view(live_server, alice, document_id)
        assert str(view.text()) == "shared text and more"
        assert str(owner.text()) == "shared text and more"
    finally:
        await js.close()
