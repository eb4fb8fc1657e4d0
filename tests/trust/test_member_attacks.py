"""What one member can send, and what it must not achieve (issue 7, items 1, 3, 4, 5, 8):
each attack as a raw client against a real server, with the server's survival, the other
members' view and the stored document checked afterwards."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pycrdt import (
    Awareness,
    Doc,
    XmlElement,
    XmlFragment,
    XmlText,
    create_awareness_message,
    create_update_message,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.api import Api, by_link
from tests.support.hostile import nested_any_update
from tests.support.rows import store_update_rows
from tests.support.server import ServerProcess
from tests.support.sharing import append, connect, share, text_of
from tests.test_fuzz import SEGFAULT_UPDATES

pytestmark = pytest.mark.shared_server


def _tower(client: Doc[Any], root: str, depth: int, words: str = "deep words here") -> None:
    """`depth` elements inside each other, then some text: built one level at a time (a
    nested prelim would make pycrdt recurse)."""
    parent: XmlFragment | XmlElement = client.get(root, type=XmlFragment)
    for _ in range(depth):
        child = XmlElement("div")
        parent.children.append(child)
        parent = child
    parent.children.append(XmlText(words))


def _append_child(parent: XmlFragment | XmlElement, child: XmlElement, _doc: Doc[Any]) -> None:
    parent.children.append(child)


async def _health_ms(server: ServerProcess) -> float:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        started = time.perf_counter()
        response = await http.get("/api/health")
        assert response.status_code == 200
        return (time.perf_counter() - started) * 1000


async def _search_indexed(server: ServerProcess) -> tuple[int, int]:
    """Documents the search indexer has indexed since start, and how many it has pending."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        health = (await http.get("/api/health")).json()
    return int(health["search_indexed"]), int(health["search_pending"])


# --- item 1: the process dies, for everyone ----------------------------------------------------

async def test_a_deep_tower_in_an_editors_own_section_is_refused(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor", scoped=True)
    attacker = await connect(live_server, bob, shared.document_id)
    before = text_of(shared.owner, shared.section_a)
    await attacker.edit(lambda d: _tower(d, shared.section_a, 150_000))
    assert await attacker.wait_closed(30) == 1003
    assert attacker.close_reason.startswith("too-deep")
    assert live_server.returncode is None
    # Counting words is what used to kill the process: it now runs, and answers.
    async with httpx.AsyncClient(base_url=live_server.base_url,
                                 headers={"Authorization": f"Bearer {alice.token}"}) as http:
        progress = await http.get("/api/progress")
    assert progress.status_code == 200, progress.text
    fresh = await connect(live_server, alice, shared.document_id)
    assert text_of(fresh, shared.section_a) == before
    await _health_ms(live_server)


async def test_a_tower_built_one_level_per_update_is_refused_at_the_bound(
    start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(max_document_depth="12")
    alice = await Api(server.base_url).sign_up("Alice")
    document_id = await alice.create_document()
    client = await connect(server, alice, document_id)
    parent: XmlFragment | XmlElement = client.doc.get("section:x", type=XmlFragment)
    for level in range(1, 40):
        child = XmlElement("div")
        await client.edit(functools.partial(_append_child, parent, child))
        if level > 12:
            break
        parent = child
    assert await client.wait_closed() == 1003
    fresh = await connect(server, alice, document_id)
    depth, node = 0, fresh.doc.get("section:x", type=XmlFragment)
    while len(node.children):
        last = node.children[0]
        assert isinstance(last, XmlElement)
        node, depth = last, depth + 1
    assert depth == 12
    await alice.aclose()


async def test_a_deep_document_stored_before_the_bound_still_counts_its_words(
    live_server: ServerProcess, alice: Api
) -> None:
    """Counting walks the document iteratively, in a worker: no recursion, no crash."""
    document_id = await alice.create_document()
    section = await alice.http.post(f"/api/documents/{document_id}/sections",
                                    json={"title": "Deep"})
    root = f"section:{section.json()['id']}"
    legacy: Doc[Any] = Doc()
    with legacy.transaction():
        _tower(legacy, root, 150_000, "four words down here")
    await store_update_rows(live_server.database_url, document_id, [legacy.get_update()],
                            alice.user["id"])
    progress = await alice.http.get(f"/api/documents/{document_id}/progress")
    assert progress.status_code == 200, progress.text
    assert progress.json()["words_total"] == 4
    assert live_server.returncode is None


async def test_a_document_that_crashes_the_engine_fails_only_its_own_count(
    live_server: ServerProcess, alice: Api
) -> None:
    """These stored rows make the engine dereference freed memory when read: the worker that
    reads them dies, the request says the words are unknown, and the server carries on."""
    indexed_before, _ = await _search_indexed(live_server)
    poisoned = await alice.create_document("Poisoned")
    await alice.http.post(f"/api/documents/{poisoned}/sections", json={"title": "S"})
    healthy = await alice.create_document("Healthy")
    # Search indexes both a moment after their creation. Had it read the poisoned rows, its
    # own crash would land at any moment of what follows (it did, under load): let it finish
    # with the documents as they were.
    async with asyncio.timeout(20):
        while True:
            indexed, pending = await _search_indexed(live_server)
            if indexed >= indexed_before + 2 and not pending:
                break
            await asyncio.sleep(0.05)
    crashes_before = live_server.logs().count('"workers.crashed"')
    await store_update_rows(live_server.database_url, poisoned, SEGFAULT_UPDATES, alice.user["id"])
    for _ in range(2):  # the second time from the cache: no second crash
        by_id = {}
        for document_id in (poisoned, healthy):
            progress = await alice.http.get(f"/api/documents/{document_id}/progress")
            assert progress.status_code == 200, progress.text
            by_id[document_id] = progress.json()
        assert by_id[poisoned]["words_total"] is None
        assert by_id[poisoned]["sections"][0]["words"] is None
        assert by_id[healthy]["words_total"] == 0
    # The dashboard reads only counts that were made: the poisoned one's words are unknown.
    dashboard = await alice.http.get("/api/progress")
    assert dashboard.status_code == 200, dashboard.text
    rows = {p["document_id"]: p for p in dashboard.json()}
    assert (rows[poisoned]["words_total"], rows[healthy]["words_total"]) == (None, 0)
    assert live_server.returncode is None
    # Once, or twice if another count shared the pool when it broke (the poisoned one is then
    # run again alone, to spare the other): never again for a state already known to fail.
    crashes = live_server.logs().count('"workers.crashed"') - crashes_before
    assert crashes in (1, 2), crashes
    await alice.http.get(f"/api/documents/{poisoned}/progress")
    assert live_server.logs().count('"workers.crashed"') - crashes_before == crashes


# --- item 3: a viewer is cut off after any network blip ------------------------------------

async def test_a_viewer_reconnecting_after_deletions_is_not_cut_off(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "viewer")
    await shared.owner.edit(
        lambda d: d.get(shared.section_a, type=XmlFragment).children.__delitem__(0))
    viewer = await connect(live_server, bob, shared.document_id)
    await viewer.wait_for(lambda: text_of(viewer, shared.section_a) == "")
    await viewer.close()
    # The blip: the same document reconnects; its sync step 2 carries its delete set.
    again = await connect(live_server, bob, shared.document_id, resume=viewer)
    await shared.owner.edit(
        lambda d: d.get(shared.section_b, type=XmlFragment).children.append(XmlText(" more")))
    await again.wait_for(lambda: text_of(again, shared.section_b) == "bravo more")
    assert not again.closed.is_set() and not again.auth_messages


# --- item 4: deleting a section leaves its text in the document ------------------------------

async def test_a_deleted_sections_text_leaves_the_document_and_stays_out(
    live_server: ServerProcess, alice: Api, bob: Api,
    make_api: Callable[[], Api]
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    section_id = shared.section_b.removeprefix("section:")
    writer = await connect(live_server, bob, shared.document_id)
    deleted = await alice.http.delete(f"/api/documents/{shared.document_id}/sections/{section_id}")
    assert deleted.status_code == 204
    await shared.owner.wait_for(lambda: text_of(shared.owner, shared.section_b) == "")
    await writer.wait_for(lambda: text_of(writer, shared.section_b) == "")

    # Someone invited after the deletion never receives the text.
    carol = await make_api().sign_up("Carol")
    invited = await alice.http.post(f"/api/documents/{shared.document_id}/invitations", json={
        "email": carol.user["email"], "role": "viewer", "reason": "review"})
    await carol.http.post(f"/api/invitations/{invited.json()['id']}/accept",
                          json=by_link(invited.json()))
    newcomer = await connect(live_server, carol, shared.document_id)
    assert text_of(newcomer, shared.section_b) == ""
    assert b"bravo" not in newcomer.doc.get_update()

    # Nobody writes into it again, whole-document editors and the owner included.
    await writer.edit(lambda d: d.get(shared.section_b, type=XmlFragment).children.append(
        XmlText("back from the dead")))
    assert await writer.wait_closed() == 4403
    assert writer.close_reason.startswith("out-of-scope")
    await shared.owner.edit(lambda d: d.get(shared.section_b, type=XmlFragment).children.append(
        XmlText("owner too")))
    assert await shared.owner.wait_closed() == 4403

    # It is gone from every listing, and the server kept a copy of its text.
    sections = await alice.http.get(f"/api/documents/{shared.document_id}/sections")
    assert section_id not in {s["id"] for s in sections.json()}
    progress = await alice.http.get(f"/api/documents/{shared.document_id}/progress")
    assert section_id not in {s["id"] for s in progress.json()["sections"]}
    engine = create_async_engine(live_server.database_url)
    try:
        async with engine.connect() as conn:
            from app.models import SectionArchive
            archived = (await conn.execute(select(SectionArchive.content)
                                           .where(SectionArchive.section_id == section_id))).one()
    finally:
        await engine.dispose()
    kept: Doc[Any] = Doc()
    kept.apply_update(archived.content)
    assert "bravo" in str(kept.get(shared.section_b, type=XmlFragment))

    # After a restart too.
    await live_server.aterminate()
    live_server.restart()
    stored = await connect(live_server, alice, shared.document_id)
    assert text_of(stored, shared.section_b) == ""


# --- item 5: Yjs client ids are bound to no one ----------------------------------------------

def _forged_under(client_id: int, root: str, text: str) -> bytes:
    """An update written under someone else's client id, at clocks they have not used yet
    (the text is longer than anything they wrote), as a hostile client crafts one."""
    forger: Doc[Any] = Doc(client_id=client_id)
    with forger.transaction():
        forger.get(root, type=XmlFragment).children.append(XmlText(text))
    return create_update_message(forger.get_update())


async def test_nobody_writes_under_another_users_client_id(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    owner_id = shared.owner.doc.client_id
    impostor = await connect(live_server, bob, shared.document_id)
    await impostor.send(_forged_under(owner_id, shared.section_a, "as alice " * 20))
    assert await impostor.wait_closed() == 4403
    assert impostor.close_reason.startswith("foreign-client-id")
    # The owner's own next edits still go through, to everyone.
    await shared.owner.edit(lambda d: d.get(shared.section_a, type=XmlFragment).children.append(
        XmlText(" mine")))
    fresh = await connect(live_server, bob, shared.document_id)
    await fresh.wait_for(lambda: text_of(fresh, shared.section_a) == "alpha mine")
    # And Bob under an id of his own writes as before.
    await fresh.edit(lambda d: d.get(shared.section_a, type=XmlFragment).children.append(
        XmlText(" +bob")))
    await shared.owner.wait_for(lambda: text_of(shared.owner, shared.section_a)
                                == "alpha mine +bob")


async def test_client_id_ownership_survives_a_restart(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    owner_id = shared.owner.doc.client_id
    await shared.owner.close()
    await live_server.aterminate()
    live_server.restart()
    impostor = await connect(live_server, bob, shared.document_id)
    await impostor.send(_forged_under(owner_id, shared.section_b, "forged " * 20))
    assert await impostor.wait_closed() == 4403


# --- item 8: awareness ---------------------------------------------------------------------

async def test_one_awareness_message_cannot_claim_a_thousand_ids(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    attacker = await connect(live_server, bob, shared.document_id)
    forged = Awareness(Doc())
    ids = list(range(10_000, 11_000))
    for client_id in ids:  # small states, so the message stays under the size limit
        forged._states[client_id] = {}
        forged._meta[client_id] = {"clock": 1, "lastUpdated": 0}
    await attacker.send(create_awareness_message(forged.encode_awareness_update(ids)))
    # The server relays in order: once this edit arrives, so has the awareness before it.
    await append(attacker, shared.section_a, " barrier")
    await shared.owner.wait_for(lambda: text_of(shared.owner, shared.section_a).endswith("barrier"))
    assert len([i for i in shared.owner.awareness.states if i in ids]) == 4


async def test_awareness_keeps_nothing_unchecked_in_the_user_field(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "viewer")
    viewer = await connect(live_server, bob, shared.document_id)
    mine = viewer.awareness.client_id
    await viewer.set_awareness({"user": {"color": "red;background:url(http://127.0.0.1:1/x)",
                                         "avatar": "http://127.0.0.1:1/y"}})
    await shared.owner.wait_for(lambda: mine in shared.owner.awareness.states)
    assert shared.owner.awareness.states[mine]["user"] == {"id": bob.user["id"], "name": "Bob"}
    await viewer.set_awareness({"user": {"color": "#12abef"}})
    await shared.owner.wait_for(
        lambda: shared.owner.awareness.states[mine]["user"].get("color") == "#12abef")
    assert shared.owner.awareness.states[mine]["user"] == {
        "id": bob.user["id"], "name": "Bob", "color": "#12abef"}


async def test_a_viewers_deeply_nested_value_is_refused_before_the_engine_decodes_it(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    """60 kB of nested arrays in one map value used to kill the process while the guard's
    probe applied it, before any check of role or scope: any member could, a viewer too."""
    shared = await share(live_server, alice, bob, "viewer")
    viewer = await connect(live_server, bob, shared.document_id)
    await viewer.send(create_update_message(nested_any_update(30_000)))
    assert await viewer.wait_closed() == 1003
    assert viewer.close_reason.startswith("too-deep")
    assert live_server.returncode is None
    await append(shared.owner, shared.section_a, " still alive")
    fresh = await connect(live_server, alice, shared.document_id)
    assert text_of(fresh, shared.section_a) == "alpha still alive"
