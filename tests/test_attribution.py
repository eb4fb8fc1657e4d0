"""Attribution through a real server: who inserted and deleted how many characters, and who
wrote the text that is there now, as the progress API reports it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Map, create_update_message

from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.sharing import connect
from tests.support.traces import (
    TraceAuthor,
    TracePlan,
    holds,
    paragraph_text,
    start_paragraph,
)
from tests.support.yclient import YClient


def _members(progress: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in progress["members"]}


@pytest.mark.database_independent
async def test_friendsforever_replay_credits_each_author_what_the_trace_says(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Two users type the trace concurrently, each transaction sent by its author's own
    connection, an author's edit that follows the other's only once the server relayed it."""
    plan = TracePlan.load("friendsforever.json.gz")
    assert plan.agents == 2
    server = start_server()
    alice = await Api(server.base_url).sign_up("Alice")
    bob = await Api(server.base_url).sign_up("Bob")
    clients: list[YClient] = []
    try:
        document_id = await alice.create_document("Friends")
        root = await alice.add_section(document_id, "Chapter")
        await alice.add_member(bob, document_id, "editor")
        # The paragraph the trace is typed into: the owner's own setup edit.
        setup = await connect(server, alice, document_id)
        await setup.edit(lambda doc: start_paragraph(doc, root))
        base = setup.doc.get_update()
        await setup.close()
        # A Yjs merge orders concurrent inserts by client id: ids rising with the agent.
        authors = [TraceAuthor(agent, Doc(client_id=1000 + agent), root)
                   for agent in range(plan.agents)]
        for author in authors:
            author.doc.apply_update(base)
        # Each author's view of the server: what it relayed to that author's connection.
        clients = [await connect(server, api, document_id) for api in (alice, bob)]

        for index, txn in enumerate(plan.txns):
            author = authors[txn["agent"]]
            view = clients[txn["agent"]]
            for other in authors:
                needed = plan.needs[index][other.agent]
                if other is author or needed <= author.applied.get(other.agent, 0):
                    continue
                await view.wait_for(lambda u=other.updates[needed - 1], d=view.doc: holds(d, u),
                                    timeout=30)
                author.bring_in(other, needed)
            update = author.edit(txn)
            await view.send(create_update_message(update))
            # The server relays an author's edit to everyone else: its view has it already.
            view.doc.apply_update(update)
        for author in authors:
            for other in authors:
                if other is not author:
                    author.bring_in(other, len(other.updates))
        expected = str(paragraph_text(authors[0].doc, root))
        assert expected == plan.end_content
        assert str(paragraph_text(authors[1].doc, root)) == expected
        # What a client is shown is committed, attribution rows included (one commit).
        reader = await connect(server, alice, document_id)
        await reader.wait_for(lambda: str(paragraph_text(reader.doc, root)) == expected, 30)
        await reader.close()

        inserted, deleted = plan.counts()
        members = _members(await alice.progress(document_id))
        assert [(members[name]["chars_inserted"], members[name]["chars_deleted"])
                for name in ("Alice", "Bob")] == [(inserted[0], deleted[0]),
                                                  (inserted[1], deleted[1])]
        # Every surviving character is someone's: the shares add up to the whole text.
        assert members["Alice"]["chars_current"] + members["Bob"]["chars_current"] == len(
            expected)
    finally:
        for client in clients:
            await client.close()
        await alice.aclose()
        await bob.aclose()


async def _type(client: YClient, root: str, index: int, text: str) -> None:
    await client.edit(lambda doc: paragraph_text(doc, root).insert(index, text))


async def _erase(client: YClient, root: str, start: int, end: int) -> None:
    await client.edit(lambda doc: paragraph_text(doc, root).__delitem__(slice(start, end)))


async def _written_by(server: ServerProcess, api: Api, document_id: str, root: str,
                      writes: list[tuple[int, str] | tuple[int, int]]) -> None:
    """One member's edits, each an insert (index, text) or a deletion (start, end), on one
    connection that first waits to see everything stored before it."""
    client = await connect(server, api, document_id)
    try:
        for start, what in writes:
            if isinstance(what, str):
                await _type(client, root, start, what)
            else:
                await _erase(client, root, start, what)
    finally:
        await client.close()


def _figures(progress: dict[str, Any]) -> dict[str, Any]:
    """What compaction must not change: the characters and the indicators."""
    return {
        "members": {m["name"]: (m["chars_inserted"], m["chars_deleted"], m["chars_current"],
                                m["share"]) for m in progress["members"]},
        "sections": [(s["chars_inserted"], s["chars_deleted"], s["chars_current"])
                     for s in progress["sections"]],
        "activity": [(a["chars_inserted"], a["chars_deleted"]) for a in progress["activity"]],
        "indicators": progress["indicators"],
    }


async def test_concentration_counts_surviving_text_lists_silent_members_and_survives_compaction(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(room_idle_seconds="0.2")
    people = {name: await Api(server.base_url).sign_up(name)
              for name in ("Alice", "Bob", "Carol", "Rita", "Pat")}
    alice, bob, carol = people["Alice"], people["Bob"], people["Carol"]
    try:
        documents: dict[str, tuple[str, str]] = {}
        for title in ("Ninety", "Eighty"):
            document_id = await alice.create_document(title)
            root = await alice.add_section(document_id, "Body")
            await alice.add_member(bob, document_id, "editor", "help")
            await alice.add_member(carol, document_id, "editor", "expertise")
            await alice.add_member(people["Rita"], document_id, "reviewer", "review")
            await alice.add_member(people["Pat"], document_id, "progress", "progress")
            setup = await connect(server, alice, document_id)
            await setup.edit(functools.partial(start_paragraph, root=root))
            await setup.close()
            documents[title] = (document_id, root)

        # Ninety: Alice wrote 900 of 1,000 characters; Carol, an editor, never wrote.
        ninety, root = documents["Ninety"]
        await _written_by(server, alice, ninety, root, [(0, "a" * 450), (450, "a" * 450)])
        await _written_by(server, bob, ninety, root, [(900, "b" * 100)])
        # Eighty: Alice inserted 1,800 of 2,000 (90% of the inserts), but Carol deleted 1,000
        # of hers: she wrote 800 of the 1,000 characters there are now.
        eighty, root = documents["Eighty"]
        await _written_by(server, alice, eighty, root, [(0, "a" * 1800)])
        await _written_by(server, bob, eighty, root, [(1800, "b" * 200)])
        await _written_by(server, carol, eighty, root, [(0, 1000)])
        await server.wait_written(2 + 3 + 3)  # two setups, then every edit above

        before = {title: await alice.progress(document_id)
                  for title, (document_id, _root) in documents.items()}

        flagged = before["Ninety"]["indicators"]["concentration"]
        assert (flagged["top_user_id"], flagged["share"], flagged["writers"],
                flagged["flagged"]) == (alice.user["id"], 0.9, 3, True)
        assert [(s["name"], s["role"]) for s in
                before["Ninety"]["indicators"]["silent_members"]] == [
            ("Carol", "editor"), ("Rita", "reviewer")]
        members = _members(before["Ninety"])
        assert [(members[n]["chars_inserted"], members[n]["chars_current"])
                for n in ("Alice", "Bob", "Carol")] == [(900, 900), (100, 100), (0, 0)]
        balance = before["Ninety"]["indicators"]["balance"]["gini"]
        # 900, 100 and 0 characters among three writers.
        assert abs(balance - (2 * 3 - 3 - 1) * 900 / (3 * 1000)
                   - (2 * 2 - 3 - 1) * 100 / (3 * 1000)) < 1e-9

        eighty_figures = before["Eighty"]
        assert eighty_figures["indicators"]["concentration"]["share"] == 0.8
        assert eighty_figures["indicators"]["concentration"]["flagged"] is False
        members = _members(eighty_figures)
        assert [(members[n]["chars_inserted"], members[n]["chars_deleted"],
                 members[n]["chars_current"]) for n in ("Alice", "Bob", "Carol")] == [
            (1800, 0, 800), (200, 0, 200), (0, 1000, 0)]
        assert [s["name"] for s in eighty_figures["indicators"]["silent_members"]] == ["Rita"]
        follow = {f["name"]: f["followed_through"]
                  for f in eighty_figures["indicators"]["follow_through"]}
        assert follow == {"Bob": True, "Carol": True, "Rita": False, "Pat": False}
        await people["Pat"].progress(eighty)  # Pat opens the progress page
        follow = {f["name"]: f["followed_through"] for f in
                  (await alice.progress(eighty))["indicators"]["follow_through"]}
        assert follow["Pat"] is True
        before = {title: await alice.progress(document_id)
                  for title, (document_id, _root) in documents.items()}

        # Compaction after every commit: a write that changes no text (a map entry) makes
        # one, and the rooms unload, so the figures come from the snapshots alone.
        await server.aterminate()
        server.settings["compaction_threshold"] = "1"
        server.restart()
        for document_id, _root in documents.values():
            client = await connect(server, alice, document_id)
            await client.edit(lambda doc: doc.get("scratch", type=Map).__setitem__("k", 1))
            await client.close()
        async with asyncio.timeout(20):
            while not all(server.logs().count(f'"document_id": "{d}", "rows"') for d, _ in
                          documents.values()):
                await asyncio.sleep(0.05)
            while '"event": "room.unloaded"' not in server.logs().rsplit("server.started")[-1]:
                await asyncio.sleep(0.05)
        for title, (document_id, _root) in documents.items():
            assert _figures(await alice.progress(document_id)) == _figures(before[title])
    finally:
        for api in people.values():
            await api.aclose()


async def test_a_progress_member_never_receives_a_word_of_the_text(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    alice = await Api(server.base_url).sign_up("Alice")
    pat = await Api(server.base_url).sign_up("Pat")
    markers = ["quokkamarker", "narwhalmarker", "axolotlmarker"]
    try:
        document_id = await alice.create_document("Plans")
        roots = [await alice.add_section(document_id, f"Part {n}") for n in range(len(markers))]
        client = await connect(server, alice, document_id)
        for root, marker in zip(roots, markers, strict=True):
            await client.edit(functools.partial(start_paragraph, root=root))
            await _type(client, root, 0, f"Draft {marker} notes")
        await client.close()
        await alice.add_member(pat, document_id, "progress", "progress")
        # The markers are there to be found: the owner's search finds every one.
        async with asyncio.timeout(20):
            for marker in markers:
                while not (await alice.http.get("/api/search",
                                                params={"q": marker})).json():
                    await asyncio.sleep(0.1)

        base = f"/api/documents/{document_id}"
        paths = [f"{base}/progress", "/api/progress", base, "/api/documents",
                 f"{base}/sections", f"{base}/members", f"{base}/log", f"{base}/comments",
                 f"{base}/mentionable", f"{base}/invitations", f"{base}/export?format=md",
                 "/api/notifications", *(f"/api/search?q={marker}" for marker in markers)]
        for path in paths:
            response = await pat.http.get(path)
            assert response.status_code in (200, 403), (path, response.status_code)
            assert not any(marker in response.text for marker in markers), path
        progress = await pat.progress(document_id)
        assert [s["words"] for s in progress["sections"]] == [3, 3, 3]
        assert all(s["chars_current"] == len("Draft  notes") + len(m)
                   for s, m in zip(progress["sections"], markers, strict=True))
        assert progress["since_last_visit"]["sections"] == []  # nothing moved since the last

        # Since Pat last looked: Alice wrote three words in the first part, closed the second.
        client = await connect(server, alice, document_id)
        await _type(client, roots[0], 0, "one two three ")
        await client.close()
        await server.wait_written(2 * len(markers) + 1)
        section_ids = [root.removeprefix("section:") for root in roots]
        response = await alice.http.patch(f"{base}/sections/{section_ids[1]}",
                                          json={"status": "done"})
        assert response.status_code == 200, response.text
        since = (await pat.progress(document_id))["since_last_visit"]
        assert (since["chars_inserted"], since["chars_deleted"], since["active_user_ids"]) == (
            len("one two three "), 0, [alice.user["id"]])
        assert [(s["id"], s["words_before"], s["words_now"], s["status_before"],
                 s["status_now"]) for s in since["sections"]] == [
            (section_ids[0], 3, 6, "draft", "draft"), (section_ids[1], 3, 3, "draft", "done")]
    finally:
        await alice.aclose()
        await pat.aclose()


async def test_words_added_and_removed_per_member(
    start_server: Callable[..., ServerProcess],
) -> None:
    """Bob types "hello world" a key at a time, then, on a later connection (the room may have
    been unloaded and its index rebuilt from the stored log in between), erases "world" and
    types "there" in bold: 3 words added, 1 removed; the characters as before."""
    server = start_server(room_idle_seconds="0.2")
    alice = await Api(server.base_url).sign_up("Alice")
    bob = await Api(server.base_url).sign_up("Bob")
    try:
        document_id = await alice.create_document("Words")
        root = await alice.add_section(document_id, "Body")
        await alice.add_member(bob, document_id, "editor")
        setup = await connect(server, alice, document_id)
        await setup.edit(functools.partial(start_paragraph, root=root))
        await setup.close()
        await _written_by(server, bob, document_id, root,
                          [(index, key) for index, key in enumerate("hello world")])
        await server.wait_written(1 + 11)
        client = await connect(server, bob, document_id)
        try:
            await _erase(client, root, 6, 11)
            for index, key in enumerate("there"):
                await client.edit(functools.partial(_type_bold, root=root, at=6 + index,
                                                    key=key))
            assert str(paragraph_text(client.doc, root)) == "hello <bold>there</bold>"
        finally:
            await client.close()
        await server.wait_written(1 + 11 + 1 + 5)

        progress = await alice.progress(document_id)
        members = _members(progress)
        assert {name: (m["words_added"], m["words_removed"], m["chars_inserted"],
                       m["chars_deleted"]) for name, m in members.items()} == {
            "Alice": (0, 0, 0, 0), "Bob": (3, 1, 16, 5)}
        assert [(a["words_added"], a["words_removed"]) for a in progress["activity"]] == [(3, 1)]
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_an_imported_document_is_written_by_its_importer(live_server: ServerProcess) -> None:
    async with Api(live_server.base_url) as owner:
        await owner.sign_up("Ida")
        response = await owner.http.post("/api/documents/import", files={
            "file": ("notes.md", b"# One\n\nhello world\n")})
        assert response.status_code == 201, response.text
        progress = await owner.progress(response.json()["id"])
        member = _members(progress)["Ida"]
        assert (member["chars_inserted"], member["chars_current"], member["share"]) == (
            len("hello world"), len("hello world"), 1.0)
        # Its words too (the heading is the section's title, not its text).
        assert (member["words_added"], member["words_removed"]) == (2, 0)
        assert progress["indicators"]["silent_members"] == []


def _type_bold(doc: Doc[Any], *, root: str, at: int, key: str) -> None:
    paragraph_text(doc, root).insert(at, key, {"bold": True})
