"""Version history on a real server (DESIGN §4, §9): versions along a real editing trace open
to exactly the text the trace had then, and restore live to every connected client; a restore
of one section leaves the others; the policy decides who opens history and restores what; a
deleted section comes back from history and from nowhere else."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText, create_sync_message

from tests.support.api import Api, by_link
from tests.support.server import ServerProcess
from tests.support.sharing import connect, share, text_of
from tests.support.yclient import YClient

TRACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "sveltecomponent.json.gz"
# Transactions of the trace per websocket message: the whole trace in a few hundred messages.
BATCH = 50
# Named versions are taken after these many transactions (the last is the whole trace).
MARKS = (1_000, 7_350, 12_000, 18_335)


def _paragraph_text(doc: Doc[Any], root: str) -> str:
    """The text of a trace replayed into a section: one XmlText inside one paragraph."""
    fragment = doc.get(root, type=XmlFragment)
    if not len(fragment.children):
        return ""
    paragraph = fragment.children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    return str(text)


async def _wait_paragraph(client: YClient, root: str, text: str) -> None:
    await client.wait_for(lambda: _paragraph_text(client.doc, root) == text)


async def _paragraph(client: YClient, root: str, text: str) -> None:
    """Add a paragraph, as the browser editor writes one."""
    await client.edit(lambda d: d.get(root, type=XmlFragment).children.append(
        XmlElement("paragraph", {}, [XmlText(text)])))


async def _settled(client: YClient) -> None:
    """Wait until the server has applied everything this client sent: it answers a sync
    step 1 only after the messages before it."""
    client.synced.clear()
    await client.send(create_sync_message(client.doc))
    await client.wait_synced(30)


async def _section(api: Api, document_id: str, title: str) -> str:
    response = await api.http.post(f"/api/documents/{document_id}/sections",
                                   json={"title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _name(api: Api, document_id: str, name: str) -> dict[str, Any]:
    response = await api.http.post(f"/api/documents/{document_id}/versions", json={"name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_versions_along_a_trace_open_to_its_text_and_restore_live(
    live_server: ServerProcess, alice: Api
) -> None:
    with gzip.open(TRACE, "rt", encoding="utf-8") as handle:
        txns = json.load(handle)["txns"]
    assert len(txns) == MARKS[-1]
    document_id = await alice.create_document("Svelte")
    root = f"section:{await _section(alice, document_id, 'App.svelte')}"
    writer = await connect(live_server, alice, document_id)
    await writer.edit(lambda d: d.get(root, type=XmlFragment).children.append(
        XmlElement("paragraph", {}, [XmlText()])))

    expected: dict[int, str] = {}
    versions: dict[int, str] = {}
    done = 0
    for mark in MARKS:
        while done < mark:
            batch = txns[done:min(done + BATCH, mark)]

            def replay(doc: Doc[Any], batch: list[dict[str, Any]] = batch) -> None:
                paragraph = doc.get(root, type=XmlFragment).children[0]
                assert isinstance(paragraph, XmlElement)
                text = paragraph.children[0]
                assert isinstance(text, XmlText)
                for txn in batch:
                    for position, delete_count, insert in txn["patches"]:
                        if delete_count:
                            del text[position:position + delete_count]
                        if insert:
                            text.insert(position, insert)

            await writer.edit(replay)
            done += len(batch)
        await _settled(writer)
        expected[mark] = _paragraph_text(writer.doc, root)
        versions[mark] = (await _name(alice, document_id, f"after {mark}"))["id"]
    assert len(expected[MARKS[-1]]) == 18_451  # the trace's own end, as a check of the replay

    for mark, version_id in versions.items():
        opened = await alice.http.get(f"/api/documents/{document_id}/versions/{version_id}")
        assert opened.status_code == 200, opened.text
        [section] = opened.json()["sections"]
        assert section["text"] == expected[mark], f"version after {mark} transactions"

    # Restoring an early version: every connected client shows its text, live.
    watcher = await connect(live_server, alice, document_id)
    restored = await alice.http.post(
        f"/api/documents/{document_id}/versions/{versions[MARKS[1]]}/restore", json={})
    assert restored.status_code == 200, restored.text
    for client in (writer, watcher):
        await _wait_paragraph(client, root, expected[MARKS[1]])
    # A client that joins afterwards loads it from the server too.
    late = await connect(live_server, alice, document_id)
    assert _paragraph_text(late.doc, root) == expected[MARKS[1]]

    listed = (await alice.http.get(f"/api/documents/{document_id}/versions")).json()
    assert listed[0]["kind"] == "restore"
    assert listed[0]["name"] == f"Restored from “after {MARKS[1]}”"
    assert listed[0]["created_by"] == alice.user["id"]
    assert listed[0]["creator"] == {"id": alice.user["id"], "name": "Alice"}
    assert [v["name"] for v in listed[1:]] == [f"after {m}" for m in reversed(MARKS)]
    for client in (writer, watcher, late):
        await client.close()


async def test_restoring_one_section_leaves_the_others(live_server: ServerProcess,
                                                       alice: Api) -> None:
    document_id = await alice.create_document("Two parts")
    first = f"section:{await _section(alice, document_id, 'A')}"
    second = f"section:{await _section(alice, document_id, 'B')}"
    client = await connect(live_server, alice, document_id)
    await _paragraph(client, first, "alpha")
    await _paragraph(client, second, "bravo")
    await _settled(client)
    version = await _name(alice, document_id, "Sent to client")
    await _paragraph(client, first, "changed")
    await _paragraph(client, second, "changed too")
    await _settled(client)

    restored = await alice.http.post(
        f"/api/documents/{document_id}/versions/{version['id']}/restore",
        json={"sections": [first.removeprefix("section:")]})
    assert restored.status_code == 200, restored.text
    await client.wait_for(lambda: text_of(client, first) == "<paragraph>alpha</paragraph>")
    assert text_of(client, second) == ("<paragraph>bravo</paragraph>"
                                       "<paragraph>changed too</paragraph>")
    opened = await alice.http.get(f"/api/documents/{document_id}/versions/{version['id']}")
    assert [(s["title"], s["text"], s["markdown"].strip()) for s in opened.json()["sections"]] \
        == [("A", "alpha", "alpha"), ("B", "bravo", "bravo")]
    diff = await alice.http.get(f"/api/documents/{document_id}/versions/{version['id']}/diff")
    assert diff.status_code == 200, diff.text
    runs = {s["section_id"]: s["runs"] for s in diff.json()["sections"]}
    assert runs[first.removeprefix("section:")] == [{"op": "equal", "text": "alpha"}]
    assert runs[second.removeprefix("section:")] == [
        {"op": "equal", "text": "bravo"}, {"op": "insert", "text": "\nchanged too"}]
    await client.close()


async def test_who_opens_history_and_restores_what(live_server: ServerProcess,
                                                   make_api: Any) -> None:
    owner = await make_api().sign_up("Olive")
    scoped = await make_api().sign_up("Sam")
    shared = await share(live_server, owner, scoped, "editor", scoped=True)
    await _settled(shared.owner)
    version = await _name(owner, shared.document_id, "Before review")
    versions = f"/api/documents/{shared.document_id}/versions"
    section_a = shared.section_a.removeprefix("section:")
    section_b = shared.section_b.removeprefix("section:")

    for role in ("viewer", "reviewer", "progress"):
        member = await make_api().sign_up(role.title())
        invited = await owner.http.post(
            f"/api/documents/{shared.document_id}/invitations",
            json={"email": member.user["email"], "role": role, "reason": "review"})
        await member.http.post(f"/api/invitations/{invited.json()['id']}/accept",
                               json=by_link(invited.json()))
        for method, path in (("GET", versions), ("POST", versions),
                             ("GET", f"{versions}/{version['id']}"),
                             ("GET", f"{versions}/{version['id']}/diff"),
                             ("POST", f"{versions}/{version['id']}/restore")):
            body = {"name": "x"} if method == "POST" else None
            answer = await member.http.request(method, path, json=body)
            assert answer.status_code == 403, (role, method, path, answer.text)
    stranger = await make_api().sign_up("Stranger")
    assert (await stranger.http.get(versions)).status_code == 404
    assert (await owner.http.get(f"{versions}/not-a-version")).status_code == 404

    # The scoped editor opens history, restores its own section, not the other or the whole.
    assert (await scoped.http.get(versions)).status_code == 200
    restore = f"{versions}/{version['id']}/restore"
    refused = await scoped.http.post(restore, json={"sections": [section_b]})
    assert refused.status_code == 403 and refused.json()["code"] == "out-of-scope"
    assert (await scoped.http.post(restore, json={})).status_code == 403
    assert (await scoped.http.post(restore, json={"sections": [section_a]})).status_code == 200
    unknown = await owner.http.post(restore, json={"sections": ["no-such-section"]})
    assert unknown.status_code == 422


async def test_a_deleted_section_comes_back_from_history_only(
    live_server: ServerProcess, make_api: Any
) -> None:
    owner = await make_api().sign_up("Olive")
    editor = await make_api().sign_up("Ed")
    shared = await share(live_server, owner, editor, "editor")
    section_b = shared.section_b.removeprefix("section:")
    await _settled(shared.owner)
    deleted = await owner.http.delete(
        f"/api/documents/{shared.document_id}/sections/{section_b}")
    assert deleted.status_code == 204
    await shared.owner.wait_for(lambda: text_of(shared.owner, shared.section_b) == "")

    # Invited after the deletion: the text does not reach them, and history is not theirs.
    carol = await make_api().sign_up("Carol")
    invited = await owner.http.post(
        f"/api/documents/{shared.document_id}/invitations",
        json={"email": carol.user["email"], "role": "viewer", "reason": "review"})
    await carol.http.post(f"/api/invitations/{invited.json()['id']}/accept",
                          json=by_link(invited.json()))
    newcomer = await connect(live_server, carol, shared.document_id)
    assert b"bravo" not in newcomer.doc.get_update()
    versions = f"/api/documents/{shared.document_id}/versions"
    assert (await carol.http.get(versions)).status_code == 403

    # A version made after the deletion has no such section to bring back, whole or alone.
    after = await _name(owner, shared.document_id, "After the deletion")
    whole = await owner.http.post(f"{versions}/{after['id']}/restore", json={})
    assert whole.status_code == 200, whole.text
    listing = f"/api/documents/{shared.document_id}/sections"
    assert section_b not in {s["id"] for s in (await owner.http.get(listing)).json()}
    alone = await owner.http.post(f"{versions}/{after['id']}/restore",
                                  json={"sections": [section_b]})
    assert alone.status_code == 422

    # The editor finds the deletion in history, with the section's text in it.
    [deletion] = [v for v in (await editor.http.get(versions)).json()
                  if v["kind"] == "deletion"]
    opened = (await editor.http.get(f"{versions}/{deletion['id']}")).json()
    [kept] = [s for s in opened["sections"] if s["section_id"] == section_b]
    assert kept["text"] == "bravo" and kept["deleted_now"]

    restored = await editor.http.post(f"{versions}/{deletion['id']}/restore",
                                      json={"sections": [section_b]})
    assert restored.status_code == 200, restored.text
    # Written back as the editor writes text: in a paragraph.
    back = "<paragraph>bravo</paragraph>"
    await newcomer.wait_for(lambda: text_of(newcomer, shared.section_b) == back)
    await shared.owner.wait_for(lambda: text_of(shared.owner, shared.section_b) == back)
    assert section_b in {s["id"] for s in (await owner.http.get(listing)).json()}
    # Writable again, by whoever may write it.
    await _paragraph(shared.owner, shared.section_b, "again")
    await newcomer.wait_for(
        lambda: text_of(newcomer, shared.section_b) == back + "<paragraph>again</paragraph>")
    assert (await editor.http.get(versions)).json()[0]["kind"] == "restore"
