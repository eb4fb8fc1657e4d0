"""The live event channel (issue 8 item 4, DESIGN §8): one websocket per signed-in user that
tells open pages of every change to the documents they may see, and of nothing else.

"Nothing else" is checked with a later event as a fence: the server publishes each change
before it answers the request that made it, in order on one channel, so once an event caused
after a change has arrived, anything the change would have told has arrived too.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable

import pytest

from tests.support.api import Api, by_link
from tests.support.events import EventClient, about
from tests.support.server import ServerProcess
from tests.support.sharing import append, connect, share

pytestmark = pytest.mark.shared_server


@pytest.fixture
async def channels(live_server: ServerProcess) -> AsyncIterator[Callable[..., EventClient]]:
    opened: list[EventClient] = []

    def open_channel(api: Api, **options: object) -> EventClient:
        client = EventClient(live_server, api.token, **options)  # type: ignore[arg-type]
        opened.append(client)
        return client

    yield open_channel
    for client in opened:
        if not client.closed.is_set():
            await client.close()


async def _section(api: Api, document_id: str, title: str) -> str:
    response = await api.http.post(f"/api/documents/{document_id}/sections",
                                   json={"title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _fence(api: Api, channel: EventClient, title: str) -> None:
    """A change to the listener's own document, awaited: everything before it has arrived."""
    document_id = await api.create_document(title)
    await channel.wait_for(about(document_id, "document", change="created"))


async def test_a_member_hears_titles_and_sections_and_who_deleted_one(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    shared = await share(live_server, alice, bob, "editor")
    doc = shared.document_id
    listening = await channels(bob).connect()

    assert (await alice.http.patch(f"/api/documents/{doc}",
                                   json={"title": "Annual report"})).status_code == 200
    renamed = await listening.wait_for(about(doc, "document", change="renamed"))
    assert renamed is not None and renamed["title"] == "Annual report"

    section = await _section(alice, doc, "Risks")
    await listening.wait_for(about(doc, "section", change="added", section_id=section))
    patched = await alice.http.patch(f"/api/documents/{doc}/sections/{section}",
                                     json={"status": "in_review", "due_date": "2030-01-31"})
    assert patched.status_code == 200
    updated = await listening.wait_for(about(doc, "section", change="updated"))
    assert updated is not None and updated["fields"] == ["due_date", "status"]

    ordered = [section, *(s["id"] for s in (await alice.http.get(
        f"/api/documents/{doc}/sections")).json() if s["id"] != section)]
    assert (await alice.http.put(f"/api/documents/{doc}/sections/order",
                                 json={"section_ids": ordered})).status_code == 200
    reordered = await listening.wait_for(about(doc, "section", change="reordered"))
    assert reordered is not None and reordered["section_ids"] == ordered

    assert (await alice.http.delete(
        f"/api/documents/{doc}/sections/{section}")).status_code == 204
    removed = await listening.wait_for(about(doc, "section", change="removed"))
    assert removed is not None
    assert removed["deleted_by"] == {"id": alice.user["id"], "name": "Alice"}
    await shared.owner.close()


async def test_the_owner_hears_someone_join_and_the_timeline_step(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    doc = await alice.create_document("Plan")
    owner = await channels(alice).connect()
    invited = await alice.http.post(f"/api/documents/{doc}/invitations", json={
        "email": bob.user["email"], "role": "viewer", "reason": "review",
        "message": "have a look"})
    assert invited.status_code == 201
    await owner.wait_for(about(doc, "invitation", change="invited"))
    step = await owner.wait_for(lambda e: about(doc, "timeline")(e)
                                and e["entry"]["kind"] == "invited")
    assert step is not None and step["entry"]["message"] == "have a look"

    assert (await bob.http.post(f"/api/invitations/{invited.json()['id']}/accept",
                                json=by_link(invited.json()))).status_code == 200
    joined = await owner.wait_for(about(doc, "member", change="joined"))
    assert joined is not None and joined["user_id"] == bob.user["id"]
    assert joined["role"] == "viewer"


async def test_a_stranger_hears_nothing_of_someone_elses_document(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    mallory = await make_api().sign_up("Mallory")
    shared = await share(live_server, alice, bob, "editor")
    doc = shared.document_id
    stranger = await channels(mallory).connect()
    await alice.http.patch(f"/api/documents/{doc}", json={"title": "Secret plan"})
    section = await _section(alice, doc, "Secret section")
    await alice.http.post(f"/api/documents/{doc}/invitations", json={
        "email": "carol@example.org", "role": "viewer", "reason": "review"})
    await append(shared.owner, f"section:{section}", "secret words")

    await _fence(mallory, stranger, "Mine")
    assert stranger.matching(about(doc)) == []
    assert not any("Secret" in frame or doc in frame for frame in stranger.frames)
    await shared.owner.close()


async def _comment(api: Api, document_id: str, section_id: str, body: str) -> str:
    anchor = base64.b64encode(b"\x00").decode()
    response = await api.http.post(f"/api/documents/{document_id}/comments", json={
        "section_id": section_id, "anchor": {"start": anchor, "end": anchor},
        "quote": "alpha", "body": body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_progress_member_hears_progress_but_no_comment(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    manager = await make_api().sign_up("Manager")
    reviewer = await make_api().sign_up("Reviewer")
    shared = await share(live_server, alice, manager, "progress")
    doc = shared.document_id
    invited = await alice.http.post(f"/api/documents/{doc}/invitations", json={
        "email": reviewer.user["email"], "role": "reviewer", "reason": "review"})
    await reviewer.http.post(f"/api/invitations/{invited.json()['id']}/accept",
                             json=by_link(invited.json()))
    following = await channels(manager).connect()
    reading = await channels(reviewer).connect()
    section_id = shared.section_a.removeprefix("section:")

    comment = await _comment(reviewer, doc, section_id, "the confidential remark")
    heard = await reading.wait_for(about(doc, "comment", change="created"))
    assert heard is not None and heard["comment"]["body"] == "the confidential remark"
    assert (await reviewer.http.patch(f"/api/documents/{doc}/comments/{comment}",
                                      json={"body": "the edited remark"})).status_code == 200
    await reading.wait_for(about(doc, "comment", change="edited"))
    await alice.http.post(f"/api/documents/{doc}/comments/{comment}/resolve")
    await reading.wait_for(about(doc, "comment", change="decided"))

    # Text edits reach the progress page, once the edits are stored: "alpha", "bravo more
    # words".
    before = len(following.matching(about(doc, "progress")))
    await append(shared.owner, shared.section_b, " more words")
    await following.wait_for(lambda e: len(following.matching(about(doc, "progress"))) > before)
    progress = await manager.http.get(f"/api/documents/{doc}/progress")
    assert progress.json()["words_total"] == 4

    fence = await _section(alice, doc, "After the comments")
    await following.wait_for(about(doc, "section", change="added", section_id=fence))
    assert following.matching(about(doc, "comment")) == []
    assert not any("remark" in frame for frame in following.frames)
    await shared.owner.close()


async def test_a_revoked_member_is_told_and_then_hears_nothing_more(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    shared = await share(live_server, alice, bob, "editor")
    doc = shared.document_id
    listening = await channels(bob).connect()
    assert (await alice.http.delete(
        f"/api/documents/{doc}/members/{bob.user['id']}")).status_code == 204
    removed = await listening.wait_for(about(doc, "member", change="removed"))
    assert removed is not None
    assert removed["user_id"] == bob.user["id"] and removed["how"] == "revoked"

    told = len(listening.matching(about(doc)))
    await alice.http.patch(f"/api/documents/{doc}", json={"title": "After Bob"})
    await _section(alice, doc, "After Bob")
    await _fence(bob, listening, "Bob's own")
    assert len(listening.matching(about(doc))) == told
    await shared.owner.close()


async def test_signing_out_closes_the_logins_channel(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    listening = await channels(alice, cookie=True).connect()
    assert (await alice.http.post("/api/auth/logout")).status_code == 204
    assert await listening.wait_closed() == 4401
    assert listening.close_reason.startswith("signed-out")
    again = await channels(alice).connect()
    assert again.close_code == 4401


async def test_refusals_say_why(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    foreign = await channels(alice, cookie=True, origin="https://evil.example").connect()
    assert foreign.close_code == 4403 and foreign.close_reason.startswith("origin")
    nobody = await EventClient(live_server, "not-a-token").connect()
    assert nobody.close_code == 4401
    talking = await channels(alice).connect()
    await talking.send("hello")
    assert await talking.wait_closed() == 1003
    # The server goes on serving others.
    listening = await channels(alice).connect()
    doc = await alice.create_document("Still here")
    await listening.wait_for(about(doc, "document", change="created"))


async def test_the_document_page_of_a_second_tab_hears_its_own_deletion(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    shared = await share(live_server, alice, bob, "viewer")
    listening = await channels(bob).connect()
    member = await connect(live_server, bob, shared.document_id)
    assert (await alice.http.delete(f"/api/documents/{shared.document_id}")).status_code == 204
    await listening.wait_for(about(shared.document_id, "document", change="deleted"))
    await member.close()
    await shared.owner.close()


async def test_a_change_that_rolls_back_is_never_heard_of(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    """Approving an invite request logs the approval, then invites; when inviting fails (the
    person joined meanwhile) the whole request rolls back, and so does what it would tell."""
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    carol = await make_api().sign_up("Carol")
    shared = await share(live_server, alice, bob, "editor")
    doc = shared.document_id
    requested = await bob.http.post(f"/api/documents/{doc}/invite-requests", json={
        "email": carol.user["email"], "role": "viewer", "reason": "expertise"})
    assert requested.status_code == 201, requested.text
    invited = await alice.http.post(f"/api/documents/{doc}/invitations", json={
        "email": carol.user["email"], "role": "viewer", "reason": "review"})
    assert (await carol.http.post(f"/api/invitations/{invited.json()['id']}/accept",
                                  json=by_link(invited.json()))).status_code == 200
    owner = await channels(alice).connect()

    approved = await alice.http.post(
        f"/api/documents/{doc}/invite-requests/{requested.json()['id']}/approve")
    assert approved.status_code == 409, approved.text
    await _fence(alice, owner, "Fence")
    assert owner.matching(about(doc, "invite_request")) == []
    assert owner.matching(about(doc, "timeline")) == []
    await shared.owner.close()


async def test_event_channels_count_apart_from_document_sockets(
    start_server: Callable[..., ServerProcess],
) -> None:
    """`WIDEN_MAX_CONNECTIONS_PER_USER` caps each kind on its own: a user at the cap of
    document sockets still gets an event channel, and the channels have a cap of their own."""
    server = start_server(max_connections_per_user="2")
    alice = Api(server.base_url)
    try:
        await alice.sign_up("Alice")
        doc = await alice.create_document()
        sockets = [await connect(server, alice, doc) for _ in range(2)]
        channels = [await EventClient(server, alice.token).connect() for _ in range(2)]
        assert all(not c.closed.is_set() for c in channels)
        refused = await EventClient(server, alice.token).connect()
        assert refused.close_code == 4429
        assert refused.close_reason.startswith("too-many-connections")
        await channels[0].close()
        # The server counts the closed channel out once its handler has ended.
        async with asyncio.timeout(10):
            while (again := await EventClient(server, alice.token).connect()).closed.is_set():
                await asyncio.sleep(0.05)
        for client in (again, channels[1]):
            await client.close()
        for socket in sockets:
            await socket.close()
    finally:
        await alice.aclose()


async def test_a_notification_reaches_its_addressee_only(
    live_server: ServerProcess, make_api: Callable[[], Api],
    channels: Callable[..., EventClient],
) -> None:
    alice = await make_api().sign_up("Alice")
    bob = await make_api().sign_up("Bob")
    shared = await share(live_server, alice, bob, "editor")
    doc = shared.document_id
    owner_hears = await channels(alice).connect()
    editor_hears = await channels(bob).connect()
    asked = await bob.http.post(f"/api/documents/{doc}/invite-requests", json={
        "email": "carol@example.org", "role": "viewer", "reason": "review"})
    assert asked.status_code == 201, asked.text
    heard = await owner_hears.wait_for(about(doc, "notification"))
    assert heard is not None and heard["notification"]["kind"] == "invite_request"
    inbox = await alice.http.get("/api/notifications")
    assert heard["notification"]["id"] in [n["id"] for n in inbox.json()], inbox.text

    await _fence(bob, editor_hears, "Bob's own")
    assert editor_hears.matching(about(doc, "notification")) == []
    await shared.owner.close()
