"""Comments are server records (DESIGN §3, issue 7 item 6): authorship and decisions are the
server's truth, only an author edits or deletes their comment, only those the policy allows
accept, reject or resolve, and nobody writes comments through the CRDT any more.

Every test runs against a real server on a real database, as a member would attack it: with
bearer tokens over HTTP and raw y-websocket clients.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pycrdt import Map, XmlFragment, XmlText

from crdt.protocol import create_permission_denied_message
from tests.support.api import Api, by_link
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

pytestmark = pytest.mark.shared_server

Json = dict[str, Any]

# Opaque to the server: what `Y.encodeRelativePosition` makes (an item id and an assoc).
START = base64.b64encode(bytes([0, 0xB9, 0x60, 3, 0])).decode()
END = base64.b64encode(bytes([0, 0xB9, 0x60, 8, 0])).decode()


@dataclass
class Doc:
    id: str
    sections: list[str]

    @property
    def comments(self) -> str:
        return f"/api/documents/{self.id}/comments"


async def _document(owner: Api, *titles: str) -> Doc:
    document_id = await owner.create_document("Report")
    ids = []
    for title in titles or ("Budget", "Methods"):
        response = await owner.http.post(f"/api/documents/{document_id}/sections",
                                         json={"title": title})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return Doc(document_id, ids)


async def _join(owner: Api, doc: Doc, member: Api, role: str, **extra: Any) -> None:
    response = await owner.http.post(f"/api/documents/{doc.id}/invitations", json={
        "email": member.user["email"], "role": role, "reason": "review", **extra})
    assert response.status_code == 201, response.text
    accepted = await member.http.post(f"/api/invitations/{response.json()['id']}/accept",
                                      json=by_link(response.json()))
    assert accepted.status_code == 200, accepted.text


def _new(section: str, body: str = "Please check", **extra: Any) -> Json:
    return {"section_id": section, "anchor": {"start": START, "end": END},
            "quote": "quick", "body": body, **extra}


async def _comment(api: Api, doc: Doc, body: Json) -> Json:
    response = await api.http.post(doc.comments, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _listed(api: Api, doc: Doc) -> dict[str, Json]:
    response = await api.http.get(doc.comments)
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()}


def _act(api: Api, doc: Doc, comment_id: str, action: str) -> Any:
    return api.http.post(f"{doc.comments}/{comment_id}/{action}")


@pytest.fixture
async def rex(make_api: Callable[[], Api]) -> Api:
    return await make_api().sign_up("Rex Reviewer")


async def test_author_and_decision_fields_cannot_be_forged(alice: Api, rex: Api) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    forged = _new(doc.sections[0], "I approve", suggestion="fast",
                  author={"id": alice.user["id"], "name": "Alice"},
                  author_id=alice.user["id"], status="accepted",
                  decided_by={"id": alice.user["id"], "name": "Alice"},
                  decided_by_id=alice.user["id"], decided_at="2020-01-01T00:00:00Z",
                  created_at="2020-01-01T00:00:00Z", id="chosen-by-client")
    created = await _comment(rex, doc, forged)
    assert created["author"] == {"id": rex.user["id"], "name": "Rex Reviewer"}
    assert created["status"] == "open"
    assert created["decided_by"] is None and created["decided_at"] is None
    assert created["id"] != "chosen-by-client"
    assert created["created_at"] > "2020-01-02"
    # What everyone else reads is what the server recorded.
    seen = (await _listed(alice, doc))[created["id"]]
    assert seen["author"]["id"] == rex.user["id"] and seen["status"] == "open"
    # A reply cannot be signed with someone else's name either.
    reply = await _comment(rex, doc, {"parent_id": created["id"], "body": "me again",
                                      "author": {"id": alice.user["id"], "name": "Alice"}})
    assert reply["author"]["id"] == rex.user["id"]
    assert reply["parent_id"] == created["id"]


async def test_reviewer_cannot_edit_or_delete_the_owners_comment(alice: Api, rex: Api) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    owners = await _comment(alice, doc, _new(doc.sections[0], "Owner's note"))
    url = f"{doc.comments}/{owners['id']}"
    assert (await rex.http.patch(url, json={"body": "Rewritten by Rex"})).status_code == 403
    assert (await rex.http.delete(url)).status_code == 403
    after = (await _listed(alice, doc))[owners["id"]]
    assert after["body"] == "Owner's note" and after["edited_at"] is None
    # His own comment he edits and deletes.
    own = await _comment(rex, doc, _new(doc.sections[0], "typo"))
    edited = await rex.http.patch(f"{doc.comments}/{own['id']}", json={"body": "a typo"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "a typo" and edited.json()["edited_at"] is not None
    assert (await rex.http.delete(f"{doc.comments}/{own['id']}")).status_code == 204
    assert own["id"] not in await _listed(alice, doc)


async def test_reviewer_cannot_accept_or_reject_a_suggestion(alice: Api, rex: Api) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    suggestion = await _comment(rex, doc, _new(doc.sections[0], "", suggestion="fast"))
    assert suggestion["suggestion"] == "fast" and suggestion["body"] == ""
    for action in ("accept", "reject"):
        response = await _act(rex, doc, suggestion["id"], action)
        assert response.status_code == 403, (action, response.text)
    assert (await _listed(alice, doc))[suggestion["id"]]["status"] == "open"
    accepted = await _act(alice, doc, suggestion["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["decided_by"] == {"id": alice.user["id"], "name": "Alice"}
    assert accepted.json()["decided_at"] is not None
    # Decided once: a second decision conflicts; an accepted suggestion stays accepted.
    assert (await _act(alice, doc, suggestion["id"], "reject")).status_code == 409
    assert (await _act(alice, doc, suggestion["id"], "reopen")).status_code == 409


async def test_reviewer_resolves_their_own_comment_only(alice: Api, rex: Api) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    owners = await _comment(alice, doc, _new(doc.sections[0], "Owner's question"))
    own = await _comment(rex, doc, _new(doc.sections[1], "Rex's question"))
    assert (await _act(rex, doc, owners["id"], "resolve")).status_code == 403
    resolved = await _act(rex, doc, own["id"], "resolve")
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["decided_by"]["id"] == rex.user["id"]
    reopened = await _act(rex, doc, own["id"], "reopen")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "open" and reopened.json()["decided_by"] is None
    # The owner resolves anyone's; a reviewer does not reopen what the owner resolved...
    assert (await _act(alice, doc, own["id"], "resolve")).status_code == 200
    assert (await _act(alice, doc, owners["id"], "resolve")).status_code == 200
    assert (await _act(rex, doc, owners["id"], "reopen")).status_code == 403
    # ...and resolving twice conflicts.
    assert (await _act(alice, doc, owners["id"], "resolve")).status_code == 409


async def test_a_stranger_gets_404_on_every_comment_route(
    alice: Api, bob: Api, rex: Api
) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    comment = await _comment(rex, doc, _new(doc.sections[0]))
    one = f"{doc.comments}/{comment['id']}"
    attempts = [
        bob.http.get(doc.comments),
        bob.http.post(doc.comments, json=_new(doc.sections[0])),
        bob.http.post(doc.comments, json={"parent_id": comment["id"], "body": "hi"}),
        bob.http.patch(one, json={"body": "mine now"}),
        bob.http.delete(one),
        *(bob.http.post(f"{one}/{action}") for action in
          ("accept", "reject", "resolve", "reopen")),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Document not found"}
    # Exactly what a document that does not exist answers.
    missing = await bob.http.get("/api/documents/00000000-0000-0000-0000-000000000000/comments")
    assert missing.status_code == 404 and missing.json() == {"detail": "Document not found"}
    assert (await _listed(alice, doc))[comment["id"]]["body"] == "Please check"


async def test_progress_members_get_403_and_viewers_only_read(
    alice: Api, rex: Api, make_api: Callable[[], Api]
) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    comment = await _comment(rex, doc, _new(doc.sections[0], "visible to readers"))
    follower = await make_api().sign_up("Pat Progress")
    viewer = await make_api().sign_up("Val Viewer")
    await _join(alice, doc, follower, "progress")
    await _join(alice, doc, viewer, "viewer")

    # A progress member never sees the text, comments included.
    assert (await follower.http.get(doc.comments)).status_code == 403
    assert (await follower.http.post(doc.comments, json=_new(doc.sections[0]))).status_code == 403
    assert (await _act(follower, doc, comment["id"], "resolve")).status_code == 403

    listed = await _listed(viewer, doc)
    assert listed[comment["id"]]["body"] == "visible to readers"
    assert listed[comment["id"]]["actions"] == []
    assert (await viewer.http.post(doc.comments, json=_new(doc.sections[0]))).status_code == 403
    reply = {"parent_id": comment["id"], "body": "me too"}
    assert (await viewer.http.post(doc.comments, json=reply)).status_code == 403
    assert (await _act(viewer, doc, comment["id"], "resolve")).status_code == 403


async def test_scoped_editor_comments_everywhere_and_decides_in_its_sections(
    alice: Api, bob: Api, rex: Api
) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    mine, other = doc.sections
    await _join(alice, doc, bob, "editor", sections=[mine])
    on_mine = await _comment(rex, doc, _new(mine, "", suggestion="x"))
    on_other = await _comment(rex, doc, _new(other, "", suggestion="y"))
    listed = await _listed(bob, doc)
    assert set(listed[on_mine["id"]]["actions"]) >= {"accept", "reject", "resolve", "reply"}
    assert set(listed[on_other["id"]]["actions"]) == {"reply"}
    assert (await _act(bob, doc, on_other["id"], "accept")).status_code == 403
    assert (await _act(bob, doc, on_other["id"], "resolve")).status_code == 403
    assert (await _act(bob, doc, on_mine["id"], "reject")).status_code == 200
    # He may comment on a section he cannot write (as a reviewer could).
    created = await _comment(bob, doc, _new(other, "Does this match section A?"))
    assert created["author"]["id"] == bob.user["id"]
    assert set(created["actions"]) == {"edit", "delete", "reply", "resolve"}


async def test_owner_deletes_any_thread_but_edits_only_their_own(alice: Api, rex: Api) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    thread = await _comment(rex, doc, _new(doc.sections[0], "Rex's"))
    reply = await _comment(alice, doc, {"parent_id": thread["id"], "body": "Alice's reply"})
    url = f"{doc.comments}/{thread['id']}"
    assert (await alice.http.patch(url, json={"body": "put words in his mouth"})).status_code \
        == 403
    assert (await rex.http.delete(f"{doc.comments}/{reply['id']}")).status_code == 403
    assert (await alice.http.delete(url)).status_code == 204
    remaining = await _listed(rex, doc)
    assert thread["id"] not in remaining and reply["id"] not in remaining


async def test_threads_are_flat_and_statuses_belong_to_threads(alice: Api) -> None:
    doc = await _document(alice)
    plain = await _comment(alice, doc, _new(doc.sections[0]))
    reply = await _comment(alice, doc, {"parent_id": plain["id"], "body": "first reply"})
    assert reply["section_id"] == plain["section_id"] and reply["anchor"] is None
    deeper = await alice.http.post(doc.comments, json={"parent_id": reply["id"], "body": "x"})
    assert deeper.status_code == 422, deeper.text
    assert (await _act(alice, doc, plain["id"], "accept")).status_code == 409  # no suggestion
    assert (await _act(alice, doc, reply["id"], "resolve")).status_code == 409
    assert (await _act(alice, doc, plain["id"], "reopen")).status_code == 409  # already open
    unknown = await _act(alice, doc, "00000000-0000-0000-0000-000000000000", "resolve")
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Comment not found"
    elsewhere = await _document(alice, "Elsewhere")
    moved = await alice.http.post(elsewhere.comments, json={"parent_id": plain["id"],
                                                            "body": "across documents"})
    assert moved.status_code == 422, moved.text
    wrong = await _act(alice, elsewhere, plain["id"], "resolve")
    assert wrong.status_code == 404


async def test_anchors_and_bodies_are_validated(alice: Api) -> None:
    doc = await _document(alice)
    other = await _document(alice, "Other")
    created = await _comment(alice, doc, _new(doc.sections[0]))
    assert created["anchor"] == {"start": START, "end": END}
    too_long = base64.b64encode(bytes(300)).decode()
    bad: list[Json] = [
        _new(doc.sections[0]) | {"anchor": {"start": "not base64!", "end": END}},
        _new(doc.sections[0]) | {"anchor": {"start": too_long, "end": END}},
        _new(doc.sections[0]) | {"anchor": {"start": "", "end": END}},
        _new(doc.sections[0]) | {"anchor": None},
        _new(other.sections[0]),  # a section of another document
        _new(doc.sections[0], "   "),  # a comment says something
        _new(doc.sections[0], "x" * 10_001),
        _new(doc.sections[0], "ok", suggestion="y" * 10_001),
        {"parent_id": created["id"], "body": "reply", "section_id": doc.sections[0]},
        {"body": "neither thread nor anchor"},
    ]
    for body in bad:
        response = await alice.http.post(doc.comments, json=body)
        assert response.status_code == 422, (body, response.text)
    assert list(await _listed(alice, doc)) == [created["id"]]


async def test_reviewer_and_scoped_editor_writes_into_the_comments_root_are_refused(
    live_server: ServerProcess, alice: Api, bob: Api, rex: Api
) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    await _join(alice, doc, bob, "editor", sections=[doc.sections[0]])

    async def connect(api: Api) -> YClient:
        url = f"{live_server.ws_url}/{doc.id}?ticket={await api.ticket(doc.id)}"
        return await YClient(url).connect_synced()

    owner = await connect(alice)
    for attacker_api in (rex, bob):
        attacker = await connect(attacker_api)
        await attacker.edit(lambda d: d.get("comments", type=Map).__setitem__(
            "forged", Map({"author": {"id": alice.user["id"], "name": "Alice"},
                           "body": "Approved", "status": "accepted"})))
        assert await attacker.wait_closed() == 4403
        assert attacker.auth_messages[0][:2] == create_permission_denied_message("")[:2]
    # The scoped editor still writes their own section; nothing reached the comments root.
    editor = await connect(bob)
    root = f"section:{doc.sections[0]}"
    await editor.edit(lambda d: d.get(root, type=XmlFragment).children.append(XmlText("ok")))
    await owner.wait_for(lambda: str(owner.doc.get(root, type=XmlFragment)) == "ok")
    fresh = await connect(alice)
    assert "forged" not in list(fresh.doc.get("comments", type=Map).keys())


def test_the_comment_routes_are_in_the_openapi_schema(live_server: ServerProcess) -> None:
    paths = httpx.get(f"{live_server.base_url}/openapi.json").json()["paths"]
    base = "/api/documents/{document_id}/comments"
    expected = {
        base: {"get", "post"},
        base + "/{comment_id}": {"patch", "delete"},
        **{f"{base}/{{comment_id}}/{a}": {"post"} for a in
           ("accept", "reject", "resolve", "reopen")},
    }
    missing = {path: methods for path, methods in expected.items()
               if not methods <= set(paths.get(path, {}))}
    assert not missing


async def test_comments_go_with_their_section_and_document(alice: Api, rex: Api) -> None:
    doc = await _document(alice)
    await _join(alice, doc, rex, "reviewer")
    thread = await _comment(rex, doc, _new(doc.sections[0]))
    await _comment(alice, doc, {"parent_id": thread["id"], "body": "noted"})
    kept = await _comment(rex, doc, _new(doc.sections[1]))
    response = await alice.http.delete(f"/api/documents/{doc.id}/sections/{doc.sections[0]}")
    assert response.status_code == 204, response.text
    assert list(await _listed(alice, doc)) == [kept["id"]]
    assert (await alice.http.delete(f"/api/documents/{doc.id}")).status_code == 204
    assert (await alice.http.get(doc.comments)).status_code == 404


async def test_concurrent_decisions_take_effect_once(alice: Api, bob: Api) -> None:
    """Ten concurrent accepts and rejects: one decision, nine 409s. (Without the conditional
    update, PostgreSQL let several through now and then; SQLite serialises them anyway.)"""
    doc = await _document(alice)
    await _join(alice, doc, bob, "editor")
    suggestion = await _comment(alice, doc, _new(doc.sections[0], "", suggestion="fast"))
    attempts = [_act(api, doc, suggestion["id"], action)
                for api, action in ((alice, "accept"), (bob, "reject")) * 5]
    answers = await asyncio.gather(*attempts)
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * 9, [r.text for r in answers]
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert (await _listed(alice, doc))[suggestion["id"]]["status"] == winner["status"]
