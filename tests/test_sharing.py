"""Sharing through a real server over HTTP: invitations, members, ownership, invite requests,
sections and the append-only sharing log. Whoever has no access gets the 404 of a missing
document, on every route and on the websocket."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets

from app.api.deps import SESSION_COOKIE
from tests.support.api import Api, clients_of
from tests.support.mailbox import Mailbox, VerifiedApi, verify_address
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

pytestmark = pytest.mark.shared_server

Json = dict[str, Any]


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def live_server(mailing_server: ServerProcess) -> ServerProcess:
    """A server that mails: every account here proves its address (as a person would, by the
    mailed link), so invitations reach it by address as well as by link."""
    return mailing_server


@pytest.fixture
async def make_api(live_server: ServerProcess,
                   mailbox: Mailbox) -> AsyncIterator[Callable[[], Api]]:
    async with clients_of(lambda: VerifiedApi(live_server.base_url, mailbox)) as make:
        yield make


# --- helpers ---------------------------------------------------------------------------------

async def _invite(owner: Api, document_id: str, email: str, role: str = "viewer",
                  reason: str = "help", **extra: Any) -> Json:
    response = await owner.http.post(f"/api/documents/{document_id}/invitations",
                                     json={"email": email, "role": role, "reason": reason,
                                           **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _respond(api: Api, invitation_id: str, answer: str = "accept") -> httpx.Response:
    return await api.http.post(f"/api/invitations/{invitation_id}/{answer}")


async def _add_member(owner: Api, document_id: str, member: Api, role: str,
                      reason: str = "help", **extra: Any) -> Json:
    invitation = await _invite(owner, document_id, member.user["email"], role, reason, **extra)
    response = await _respond(member, invitation["id"])
    assert response.status_code == 200, response.text
    return invitation


async def _section(api: Api, document_id: str, title: str, **extra: Any) -> Json:
    response = await api.http.post(f"/api/documents/{document_id}/sections",
                                   json={"title": title, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _log(api: Api, document_id: str) -> Json:
    response = await api.http.get(f"/api/documents/{document_id}/log")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _kinds(log: Json) -> list[tuple[str, str | None, str | None]]:
    return [(e["kind"], e["reason"], e["role"]) for e in log["events"]]


def _members(response: httpx.Response) -> list[tuple[str, str, list[str] | None]]:
    assert response.status_code == 200, response.text
    return [(m["user"]["id"], m["role"], m["sections"]) for m in response.json()]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _sleep_past(instant: datetime) -> None:
    """A short, bounded sleep just past a known instant (never more than ~2 s)."""
    remaining = (instant - datetime.now(UTC)).total_seconds()
    assert remaining < 2, "the instant should be close"
    await asyncio.sleep(max(0.0, remaining) + 0.05)


async def _cookie_socket_code(server: ServerProcess, document_id: str, api: Api) -> int | None:
    """How a browser-style (cookie, allowed origin) socket ends; None if it was admitted."""
    headers = {"Cookie": f"{SESSION_COOKIE}={api.token}", "Origin": server.base_url}
    async with asyncio.timeout(10), websockets.connect(
        f"{server.ws_url}/{document_id}", additional_headers=headers
    ) as ws:
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            return ws.close_code
        return None


async def _assert_no_access(server: ServerProcess, api: Api, document_id: str) -> None:
    """No document, no ticket, no socket: exactly as for a document that does not exist."""
    missing = str(uuid.uuid4())
    for path in (f"/api/documents/{document_id}", f"/api/documents/{missing}"):
        response = await api.http.get(path)
        assert response.status_code == 404 and response.json() == {
            "detail": "Document not found"}, response.text
        response = await api.http.post(f"{path}/ticket")
        assert response.status_code == 404 and response.json() == {
            "detail": "Document not found"}, response.text
    assert document_id not in [d["id"] for d in (await api.http.get("/api/documents")).json()]
    assert await _cookie_socket_code(server, document_id, api) == 4404


async def _send(api: Api, method: str, path: str, body: Any) -> int | str:
    """The status, on a fresh connection (so one failure cannot break the next request)."""
    headers = {"Connection": "close"}
    try:
        if isinstance(body, bytes):
            response = await api.http.request(
                method, path, content=body, headers={**headers, "Content-Type": "application/json"})
        else:
            response = await api.http.request(method, path, json=body, headers=headers)
    except httpx.TransportError as exc:  # the server dropped the connection
        return repr(exc)
    return response.status_code if response.status_code < 500 else (
        f"{response.status_code} {response.text[:80]}")


# --- invitations -----------------------------------------------------------------------------

async def test_invitations_accept_decline_withdraw_wait_and_conflict(
    make_api: Callable[[], Api], alice: Api, bob: Api, live_server: ServerProcess,
    mailbox: Mailbox
) -> None:
    carol = await make_api().sign_up("Carol")
    document_id = await alice.create_document("Grant proposal")
    base = f"/api/documents/{document_id}"
    methods = await _section(alice, document_id, "Methods")
    budget = await _section(alice, document_id, "Budget")
    expires = datetime.now(UTC) + timedelta(days=7)

    # A scoped editor, with a reason, a message and an expiry.
    invitation = await _invite(alice, document_id, bob.user["email"].upper(), "editor",
                               "expertise", sections=[methods["id"]],
                               message="Could you write the methods?",
                               expires_at=expires.isoformat())
    assert (invitation["status"], invitation["email"], invitation["inviter"]["id"]) == (
        "pending", bob.user["email"], alice.user["id"])
    assert _at(invitation["expires_at"]) == expires
    assert (await bob.http.get(base)).status_code == 404

    inbox = (await bob.http.get("/api/invitations")).json()
    assert [(i["id"], i["document_id"], i["document_title"], i["inviter"]["name"], i["role"],
             i["sections"], i["reason"], i["message"]) for i in inbox] == [
        (invitation["id"], document_id, "Grant proposal", "Alice", "editor", [methods["id"]],
         "expertise", "Could you write the methods?")]
    # Someone else cannot act on Bob's invitation: for them it does not exist.
    for answer in ("accept", "decline"):
        assert (await _respond(carol, invitation["id"], answer)).status_code == 404
    assert (await _respond(bob, str(uuid.uuid4()))).status_code == 404

    accepted = await _respond(bob, invitation["id"])
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert (await _respond(bob, invitation["id"])).status_code == 409
    assert (await _respond(bob, invitation["id"], "decline")).status_code == 409
    assert (await bob.http.get("/api/invitations")).json() == []
    listed = (await bob.http.get("/api/documents")).json()
    assert [(d["id"], d["title"], d["role"], d["sections"]) for d in listed] == [
        (document_id, "Grant proposal", "editor", [methods["id"]])]
    expected_members = [(alice.user["id"], "owner", None),
                        (bob.user["id"], "editor", [methods["id"]])]
    for api in (alice, bob):
        assert _members(await api.http.get(f"{base}/members")) == expected_members
    member = (await alice.http.get(f"{base}/members")).json()[1]
    assert (member["reason"], member["user"]["name"]) == ("expertise", "Bob")

    # Declined: no access, and it cannot be accepted afterwards.
    declined = await _invite(alice, document_id, carol.user["email"], "reviewer", "review")
    response = await _respond(carol, declined["id"], "decline")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert (await _respond(carol, declined["id"])).status_code == 409
    assert (await carol.http.get(base)).status_code == 404
    assert (await carol.http.get("/api/documents")).json() == []

    # Withdrawn (a declined address may be invited again): gone from the inbox, cannot be
    # accepted, cannot be withdrawn twice.
    withdrawn = await _invite(alice, document_id, carol.user["email"], "viewer", "progress")
    assert [i["id"] for i in (await carol.http.get("/api/invitations")).json()] == [
        withdrawn["id"]]
    path = f"{base}/invitations/{withdrawn['id']}"
    assert (await alice.http.delete(path)).status_code == 204
    assert (await alice.http.delete(path)).status_code == 409
    assert (await carol.http.get("/api/invitations")).json() == []
    assert (await _respond(carol, withdrawn["id"])).status_code == 409
    assert (await carol.http.get(base)).status_code == 404
    assert (await alice.http.delete(f"{base}/invitations/{uuid.uuid4()}")).status_code == 404

    # For an address without an account, the invitation waits for the account.
    waiting = await _invite(alice, document_id, "Later.Comer@Example.org", "reviewer",
                            "review", message="When you have an account")
    assert waiting["email"] == "later.comer@example.org"
    sent = (await alice.http.get(f"{base}/invitations")).json()
    assert [(i["email"], i["status"], i["responded_at"] is not None) for i in sent] == [
        (bob.user["email"], "accepted", True), (carol.user["email"], "declined", True),
        (carol.user["email"], "withdrawn", True), ("later.comer@example.org", "pending", False)]

    # Conflicts: a member, a pending address (in any case), the owner.
    for email in (bob.user["email"], "later.comer@example.org", "LATER.comer@example.ORG",
                  alice.user["email"]):
        response = await alice.http.post(f"{base}/invitations", json={
            "email": email, "role": "viewer", "reason": "help"})
        assert response.status_code == 409, (email, response.text)

    # Registering the address proves nothing: until verified, the invitation stays hidden.
    later = await Api(live_server.base_url).sign_up("Later", "later.COMER@example.org")
    assert (await later.http.get("/api/invitations")).json() == []
    assert (await later.http.get(base)).status_code == 404
    assert (await _respond(later, waiting["id"])).status_code == 404
    await verify_address(later, mailbox)
    inbox = (await later.http.get("/api/invitations")).json()
    assert [(i["id"], i["document_title"], i["inviter"]["name"], i["reason"], i["message"])
            for i in inbox] == [(waiting["id"], "Grant proposal", "Alice", "review",
                                 "When you have an account")]
    assert (await _respond(later, waiting["id"])).status_code == 200
    assert [(d["id"], d["role"], d["sections"]) for d in (
        await later.http.get("/api/documents")).json()] == [(document_id, "reviewer", None)]
    assert _members(await alice.http.get(f"{base}/members")) == [
        *expected_members, (later.user["id"], "reviewer", None)]
    await later.aclose()

    # Sections scope only an editor, and only with this document's sections; reasons are a
    # fixed list.
    other_document = await alice.create_document("Other")
    foreign = await _section(alice, other_document, "Foreign")
    for body in (
        {"role": "viewer", "sections": [methods["id"]]},
        {"role": "reviewer", "sections": [budget["id"]]},
        {"role": "progress", "sections": [methods["id"]]},
        {"role": "editor", "sections": [str(uuid.uuid4())]},
        {"role": "editor", "sections": [foreign["id"]]},
        {"role": "editor", "sections": [methods["id"], "nope"]},
        {"role": "editor", "sections": []},
        {"role": "editor", "reason": "fun"},
        {"role": "editor", "reason": None},
        {"role": "owner"},
        {"role": "editor", "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
    ):
        response = await alice.http.post(f"{base}/invitations", json={
            "email": "frank@example.org", "reason": "help", **body})
        assert response.status_code == 422, (body, response.text)
    assert "frank@example.org" not in [
        i["email"] for i in (await alice.http.get(f"{base}/invitations")).json()]
    for reason in ("help", "expertise", "review", "progress", "other"):
        created = await _invite(alice, document_id, f"{reason}@example.org", "editor", reason,
                                sections=[budget["id"], methods["id"], budget["id"]])
        assert (created["reason"], sorted(created["sections"])) == (
            reason, sorted([methods["id"], budget["id"]]))


# --- who manages -----------------------------------------------------------------------------

def _sharing_routes(document_id: str, member_id: str, invitation_id: str, request_id: str,
                    section_id: str) -> list[tuple[str, str, Json | None]]:
    base = f"/api/documents/{document_id}"
    return [
        ("GET", base, None),
        ("POST", f"{base}/ticket", None),
        ("GET", f"{base}/invitations", None),
        ("POST", f"{base}/invitations", {"email": "x@example.org", "role": "viewer",
                                         "reason": "help"}),
        ("DELETE", f"{base}/invitations/{invitation_id}", None),
        ("GET", f"{base}/members", None),
        ("PATCH", f"{base}/members/{member_id}", {"role": "viewer"}),
        ("DELETE", f"{base}/members/{member_id}", None),
        ("POST", f"{base}/transfer", {"user_id": member_id}),
        ("GET", f"{base}/invite-requests", None),
        ("POST", f"{base}/invite-requests", {"email": "x@example.org", "role": "viewer",
                                             "reason": "help"}),
        ("POST", f"{base}/invite-requests/{request_id}/approve", None),
        ("POST", f"{base}/invite-requests/{request_id}/refuse", None),
        ("GET", f"{base}/log", None),
        ("GET", f"{base}/sections", None),
        ("POST", f"{base}/sections", {"title": "Mine"}),
        ("PATCH", f"{base}/sections/{section_id}", {"status": "done"}),
        ("PUT", f"{base}/sections/order", {"section_ids": [section_id]}),
        ("DELETE", f"{base}/sections/{section_id}", None),
    ]


async def test_only_the_owner_manages_an_editor_may_ask_a_stranger_sees_nothing(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    carol = await make_api().sign_up("Carol")
    stranger = await make_api().sign_up("Mallory")
    document_id = await alice.create_document("Report")
    base = f"/api/documents/{document_id}"
    intro = await _section(alice, document_id, "Intro")
    await _add_member(alice, document_id, bob, "editor")
    await _add_member(alice, document_id, carol, "reviewer", "review")
    pending = await _invite(alice, document_id, "pending@example.org")
    members_before = _members(await alice.http.get(f"{base}/members"))

    # An editor cannot invite, withdraw, change, revoke or transfer: 403.
    for method, path, body in [
        ("POST", f"{base}/invitations", {"email": "x@example.org", "role": "viewer",
                                         "reason": "help"}),
        ("GET", f"{base}/invitations", None),
        ("DELETE", f"{base}/invitations/{pending['id']}", None),
        ("PATCH", f"{base}/members/{carol.user['id']}", {"role": "viewer"}),
        ("PATCH", f"{base}/members/{bob.user['id']}", {"sections": [intro["id"]]}),
        ("DELETE", f"{base}/members/{carol.user['id']}", None),
        ("DELETE", f"{base}/members/{alice.user['id']}", None),
        ("POST", f"{base}/transfer", {"user_id": bob.user["id"]}),
        ("PATCH", base, {"title": "Mine"}),
        ("DELETE", base, None),
    ]:
        response = await bob.http.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert _members(await alice.http.get(f"{base}/members")) == members_before
    assert (await alice.http.get(base)).json()["title"] == "Report"

    # The editor asks; the owner sees it and approves: an invitation exists, logged.
    asked = await bob.http.post(f"{base}/invite-requests", json={
        "email": "Grace@Example.org", "role": "editor", "sections": [intro["id"]],
        "reason": "expertise", "message": "Grace knows the intro"})
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["email"], request["requester"]["id"]) == (
        "pending", "grace@example.org", bob.user["id"])
    seen = (await alice.http.get(f"{base}/invite-requests")).json()
    assert [(r["id"], r["requester"]["name"], r["reason"], r["message"]) for r in seen] == [
        (request["id"], "Bob", "expertise", "Grace knows the intro")]
    for api in (bob, carol):  # only the owner decides
        for verb in ("approve", "refuse"):
            response = await api.http.post(f"{base}/invite-requests/{request['id']}/{verb}")
            assert response.status_code == 403, response.text
    approved = await alice.http.post(f"{base}/invite-requests/{request['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["invitation_id"]
    assert (await alice.http.post(
        f"{base}/invite-requests/{request['id']}/approve")).status_code == 409
    invitation = next(i for i in (await alice.http.get(f"{base}/invitations")).json()
                      if i["id"] == approved.json()["invitation_id"])
    assert (invitation["email"], invitation["role"], invitation["sections"],
            invitation["reason"], invitation["inviter"]["id"], invitation["status"]) == (
        "grace@example.org", "editor", [intro["id"]], "expertise", alice.user["id"], "pending")

    # Another request, refused: no invitation.
    refused = (await bob.http.post(f"{base}/invite-requests", json={
        "email": "hal@example.org", "role": "viewer", "reason": "other"})).json()
    response = await alice.http.post(f"{base}/invite-requests/{refused['id']}/refuse")
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["invitation_id"]) == ("refused", None)
    assert (await alice.http.post(
        f"{base}/invite-requests/{refused['id']}/approve")).status_code == 409
    assert "hal@example.org" not in [
        i["email"] for i in (await alice.http.get(f"{base}/invitations")).json()]
    # The editor sees their own requests and how they went.
    assert [(r["email"], r["status"]) for r in (
        await bob.http.get(f"{base}/invite-requests")).json()] == [
        ("grace@example.org", "approved"), ("hal@example.org", "refused")]
    # Sections in a request follow the invitation rules.
    response = await bob.http.post(f"{base}/invite-requests", json={
        "email": "z@example.org", "role": "viewer", "sections": [intro["id"]],
        "reason": "help"})
    assert response.status_code == 422, response.text

    # Reviewer, viewer and progress members may not ask.
    for role in ("reviewer", "viewer", "progress"):
        if role != "reviewer":  # Carol is a reviewer already
            response = await alice.http.patch(f"{base}/members/{carol.user['id']}",
                                              json={"role": role})
            assert response.status_code == 200 and response.json()["role"] == role
        response = await carol.http.post(f"{base}/invite-requests", json={
            "email": "z@example.org", "role": "viewer", "reason": "help"})
        assert response.status_code == 403, (role, response.text)

    log = await _log(alice, document_id)
    assert [(e["kind"], e["actor"]["id"], e["subject_email"]) for e in log["events"][-7:-2]] == [
        ("invite_requested", bob.user["id"], "grace@example.org"),
        ("invite_request_approved", alice.user["id"], "grace@example.org"),
        ("invited", alice.user["id"], "grace@example.org"),
        ("invite_requested", bob.user["id"], "hal@example.org"),
        ("invite_request_refused", alice.user["id"], "hal@example.org"),
    ]
    assert [(e["kind"], e["role"]) for e in log["events"][-2:]] == [
        ("role_changed", "viewer"), ("role_changed", "progress")]

    # A stranger gets, on every route of the document, exactly the 404 of a missing id.
    request = (await bob.http.post(f"{base}/invite-requests", json={
        "email": "friend@example.org", "role": "viewer", "reason": "help"})).json()
    log_before = await _log(alice, document_id)
    sections_before = (await alice.http.get(f"{base}/sections")).json()
    invitations_before = (await alice.http.get(f"{base}/invitations")).json()
    ids = (bob.user["id"], pending["id"], request["id"], intro["id"])
    theirs = _sharing_routes(document_id, *ids)
    missing = _sharing_routes(str(uuid.uuid4()), *ids)
    for (method, path, body), (_, missing_path, _) in zip(theirs, missing, strict=True):
        real = await stranger.http.request(method, path, json=body)
        none = await stranger.http.request(method, missing_path, json=body)
        assert real.status_code == none.status_code == 404, (method, path, real.text)
        assert real.json() == none.json() == {"detail": "Document not found"}, (method, path)
        assert real.headers.get("content-length") == none.headers.get("content-length")
    assert (await stranger.http.get("/api/documents")).json() == []
    assert (await stranger.http.get("/api/invitations")).json() == []
    # ... and nothing the stranger tried changed anything.
    assert await _log(alice, document_id) == log_before
    assert (await alice.http.get(f"{base}/sections")).json() == sections_before
    assert (await alice.http.get(f"{base}/invitations")).json() == invitations_before
    assert _members(await alice.http.get(f"{base}/members")) == [
        (alice.user["id"], "owner", None), (bob.user["id"], "editor", None),
        (carol.user["id"], "progress", None)]
    assert [r["status"] for r in (await alice.http.get(f"{base}/invite-requests")).json()] == [
        "approved", "refused", "pending"]


# --- ownership and leaving -------------------------------------------------------------------

async def test_transfer_ownership_and_leaving(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    carol = await make_api().sign_up("Carol")
    document_id = await alice.create_document("Handbook")
    base = f"/api/documents/{document_id}"
    await _add_member(alice, document_id, bob, "editor")
    invitation = await _invite(alice, document_id, carol.user["email"], "viewer")

    # Only to a member: not to a pending invitee, an unknown id, or oneself.
    for user_id in (carol.user["id"], str(uuid.uuid4()), alice.user["id"]):
        response = await alice.http.post(f"{base}/transfer", json={"user_id": user_id})
        assert response.status_code == 404, response.text
    assert (await _respond(carol, invitation["id"])).status_code == 200

    response = await alice.http.post(f"{base}/transfer", json={"user_id": bob.user["id"]})
    assert response.status_code == 200, response.text
    expected = [(bob.user["id"], "owner", None), (alice.user["id"], "editor", None),
                (carol.user["id"], "viewer", None)]
    assert sorted(_members(response)) == sorted(expected)
    assert _members(await carol.http.get(f"{base}/members"))[0] == expected[0]
    document = (await bob.http.get(base)).json()
    assert (document["role"], document["owner_id"]) == ("owner", bob.user["id"])
    assert [(d["role"], d["sections"], d["owner_id"]) for d in (
        await alice.http.get("/api/documents")).json()] == [("editor", None, bob.user["id"])]

    # The new owner manages; the old one no longer does.
    await _invite(bob, document_id, "new@example.org")
    for method, path, body in [
        ("POST", f"{base}/invitations", {"email": "other@example.org", "role": "viewer",
                                         "reason": "help"}),
        ("PATCH", f"{base}/members/{carol.user['id']}", {"role": "editor"}),
        ("DELETE", f"{base}/members/{carol.user['id']}", None),
        ("POST", f"{base}/transfer", {"user_id": carol.user["id"]}),
    ]:
        response = await alice.http.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
    response = await bob.http.patch(f"{base}/members/{alice.user['id']}",
                                    json={"role": "reviewer"})
    assert response.status_code == 200 and response.json()["role"] == "reviewer"
    assert (await alice.http.get(base)).json()["role"] == "reviewer"

    # The owner cannot leave; members can, and then it is gone for them.
    assert (await bob.http.delete(f"{base}/members/{bob.user['id']}")).status_code == 409
    assert (await bob.http.get(base)).json()["role"] == "owner"
    assert (await carol.http.delete(f"{base}/members/{carol.user['id']}")).status_code == 204
    assert (await carol.http.get(base)).status_code == 404
    assert (await carol.http.delete(f"{base}/members/{carol.user['id']}")).status_code == 404
    assert (await alice.http.delete(f"{base}/members/{alice.user['id']}")).status_code == 204
    assert (await alice.http.get(base)).status_code == 404
    assert (await alice.http.get("/api/documents")).json() == []
    assert _members(await bob.http.get(f"{base}/members")) == [(bob.user["id"], "owner", None)]

    log = await _log(bob, document_id)
    assert [(e["kind"], e["actor"]["id"], (e["subject"] or {}).get("id"), e["role"])
            for e in log["events"][-6:]] == [
        ("accepted", carol.user["id"], carol.user["id"], "viewer"),
        ("ownership_transferred", alice.user["id"], bob.user["id"], "owner"),
        ("invited", bob.user["id"], None, "viewer"),  # new@example.org, by the new owner
        ("role_changed", bob.user["id"], alice.user["id"], "reviewer"),
        ("left", carol.user["id"], carol.user["id"], "viewer"),
        ("left", alice.user["id"], alice.user["id"], "reviewer"),
    ]
    assert log["summary"]["members"] == 1


# --- access after the fact -------------------------------------------------------------------

async def test_access_after_the_fact(
    live_server: ServerProcess, make_api: Callable[[], Api], alice: Api
) -> None:
    dee, eve, rex = [await make_api().sign_up(name) for name in ("Dee", "Eve", "Rex")]
    document_id = await alice.create_document("Minutes")
    base = f"/api/documents/{document_id}"
    # Eve's invitation runs out while the rest happens.
    expires_at = datetime.now(UTC) + timedelta(seconds=1.5)
    expiring = await _invite(alice, document_id, eve.user["email"], "editor",
                             expires_at=expires_at.isoformat())
    assert [i["id"] for i in (await eve.http.get("/api/invitations")).json()] == [
        expiring["id"]]
    section = await _section(alice, document_id, "Agenda")

    # Dee: uninvited, then declined, then withdrawn: never any access.
    await _assert_no_access(live_server, dee, document_id)
    invitation = await _invite(alice, document_id, dee.user["email"], "editor")
    assert (await _respond(dee, invitation["id"], "decline")).status_code == 200
    await _assert_no_access(live_server, dee, document_id)
    invitation = await _invite(alice, document_id, dee.user["email"], "editor")
    assert (await alice.http.delete(
        f"{base}/invitations/{invitation['id']}")).status_code == 204
    await _assert_no_access(live_server, dee, document_id)

    # Rex, a progress member: the document, its sections, members and log, never the text.
    await _add_member(alice, document_id, rex, "progress", "progress")
    response = await rex.http.get(base)
    assert response.status_code == 200 and response.json()["role"] == "progress"
    sections = await rex.http.get(f"{base}/sections")
    assert sections.status_code == 200 and [s["id"] for s in sections.json()] == [section["id"]]
    assert (await rex.http.get(f"{base}/members")).status_code == 200
    assert (await rex.http.get(f"{base}/log")).status_code == 200
    response = await rex.http.post(f"{base}/ticket")
    assert response.status_code == 403, response.text
    assert await _cookie_socket_code(live_server, document_id, rex) == 4403
    assert (await rex.http.patch(f"{base}/sections/{section['id']}",
                                 json={"status": "done"})).status_code == 403

    # Rex, now an editor, takes a ticket; revoked, the ticket is worthless.
    assert (await alice.http.patch(f"{base}/members/{rex.user['id']}",
                                   json={"role": "editor"})).status_code == 200
    ticket = await rex.ticket(document_id)
    assert (await alice.http.delete(f"{base}/members/{rex.user['id']}")).status_code == 204
    client = YClient(f"{live_server.ws_url}/{document_id}?ticket={ticket}")
    await client.connect()
    assert await client.wait_closed() == 4404
    await _assert_no_access(live_server, rex, document_id)

    # Eve: expired, so it can no longer be accepted (or withdrawn).
    await _sleep_past(expires_at)
    response = await _respond(eve, expiring["id"])
    assert response.status_code == 409, response.text
    assert (await eve.http.get("/api/invitations")).json() == []
    assert (await alice.http.delete(f"{base}/invitations/{expiring['id']}")).status_code == 409
    await _assert_no_access(live_server, eve, document_id)
    statuses = [(i["email"], i["status"]) for i in (
        await alice.http.get(f"{base}/invitations")).json()]
    assert statuses[0] == (eve.user["email"], "expired")
    log = (await _log(alice, document_id))["events"]
    expiries = [e for e in log if e["kind"] == "expired"]
    assert len(expiries) == 1, expiries
    assert (expiries[0]["subject_email"], expiries[0]["invitation_id"], expiries[0]["actor"],
            _at(expiries[0]["at"])) == (eve.user["email"], expiring["id"], None, expires_at)
    # Everything else, in order; the expiry sits at the instant it happened.
    assert [e["kind"] for e in log if e["kind"] != "expired"] == [
        "created", "invited", "invited", "declined", "invited", "withdrawn", "invited",
        "accepted", "role_changed", "revoked"]
    ats = [_at(e["at"]) for e in log]
    assert ats == sorted(ats)


# --- the sharing log -------------------------------------------------------------------------

async def test_the_sharing_log_tells_exactly_what_happened(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    carol = await make_api().sign_up("Carol")
    document_id = await alice.create_document("Thesis")
    base = f"/api/documents/{document_id}"
    created_at = _at((await alice.http.get(base)).json()["created_at"])
    chapter = await _section(alice, document_id, "Chapter 1")
    summary = (await _log(alice, document_id))["summary"]
    assert (summary["private_until"], summary["first_need"], summary["members"]) == (
        None, None, 1)

    first = await _add_member(alice, document_id, bob, "editor", "expertise",
                              message="You know this field")
    invitation = await _invite(alice, document_id, carol.user["email"], "reviewer", "review")
    await _respond(carol, invitation["id"], "decline")
    invitation = await _invite(alice, document_id, "dave@example.org", "progress", "progress")
    await alice.http.delete(f"{base}/invitations/{invitation['id']}")
    await _add_member(alice, document_id, carol, "viewer", "help")
    for body in ({"role": "editor"}, {"sections": [chapter["id"]]}, {}):
        response = await alice.http.patch(f"{base}/members/{carol.user['id']}", json=body)
        assert response.status_code == 200, response.text  # the last changes nothing
    assert (await alice.http.delete(f"{base}/members/{carol.user['id']}")).status_code == 204
    request = (await bob.http.post(f"{base}/invite-requests", json={
        "email": carol.user["email"], "role": "reviewer", "reason": "review"})).json()
    approved = (await alice.http.post(f"{base}/invite-requests/{request['id']}/approve")).json()
    assert (await _respond(carol, approved["invitation_id"])).status_code == 200
    request = (await bob.http.post(f"{base}/invite-requests", json={
        "email": "gina@example.org", "role": "viewer", "reason": "other"})).json()
    await alice.http.post(f"{base}/invite-requests/{request['id']}/refuse")
    expires_at = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await _invite(alice, document_id, "hank@example.org", "viewer", "help",
                             expires_at=expires_at.isoformat())
    await _sleep_past(expires_at)
    assert (await carol.http.delete(f"{base}/members/{carol.user['id']}")).status_code == 204
    response = await alice.http.post(f"{base}/transfer", json={"user_id": bob.user["id"]})
    assert response.status_code == 200, response.text

    log = await _log(bob, document_id)
    assert _kinds(log) == [
        ("created", None, None),
        ("invited", "expertise", "editor"),
        ("accepted", "expertise", "editor"),
        ("invited", "review", "reviewer"),
        ("declined", "review", "reviewer"),
        ("invited", "progress", "progress"),
        ("withdrawn", "progress", "progress"),
        ("invited", "help", "viewer"),
        ("accepted", "help", "viewer"),
        ("role_changed", None, "editor"),
        ("scope_changed", None, "editor"),
        ("revoked", None, "editor"),
        ("invite_requested", "review", "reviewer"),
        ("invite_request_approved", "review", "reviewer"),
        ("invited", "review", "reviewer"),
        ("accepted", "review", "reviewer"),
        ("invite_requested", "other", "viewer"),
        ("invite_request_refused", "other", "viewer"),
        ("invited", "help", "viewer"),
        ("expired", "help", "viewer"),
        ("left", None, "reviewer"),
        ("ownership_transferred", None, "owner"),
    ]
    events = log["events"]
    ats = [_at(e["at"]) for e in events]
    assert ats == sorted(ats)
    assert len({e["id"] for e in events}) == len(events)

    def who(event: Json) -> tuple[str | None, str | None, str | None]:
        return ((event["actor"] or {}).get("id"), (event["subject"] or {}).get("id"),
                event["subject_email"])

    a, b, c = alice.user["id"], bob.user["id"], carol.user["id"]
    c_mail = carol.user["email"]
    assert [who(event) for event in events] == [
        (a, None, None),
        (a, b, bob.user["email"]), (b, b, bob.user["email"]),
        (a, c, c_mail), (c, c, c_mail),
        (a, None, "dave@example.org"), (a, None, "dave@example.org"),
        (a, c, c_mail), (c, c, c_mail),
        (a, c, None), (a, c, None), (a, c, None),
        (b, None, c_mail), (a, b, c_mail), (a, c, c_mail), (c, c, c_mail),
        (b, None, "gina@example.org"), (a, b, "gina@example.org"),
        (a, None, "hank@example.org"), (None, None, "hank@example.org"),
        (c, c, None),
        (a, b, None),
    ]
    assert [event["actor"]["name"] for event in events[:3]] == ["Alice", "Alice", "Bob"]
    assert [event["sections"] for event in events[9:12]] == [
        None, [chapter["id"]], [chapter["id"]]]
    assert all(event["sections"] is None for event in events[:9] + events[12:])
    assert events[1]["message"] == "You know this field"
    assert events[1]["invitation_id"] == events[2]["invitation_id"] == first["id"]
    assert events[14]["invitation_id"] == events[15]["invitation_id"] == approved[
        "invitation_id"]
    assert events[18]["invitation_id"] == events[19]["invitation_id"] == expiring["id"]
    assert _at(events[19]["at"]) == expires_at

    summary = log["summary"]
    assert _at(summary["created_at"]) == created_at
    assert timedelta(0) <= ats[0] - created_at < timedelta(seconds=1)
    assert _at(summary["private_until"]) == ats[1]
    assert abs(ats[1] - _at(first["created_at"])) < timedelta(seconds=1)
    assert summary["first_need"] == "expertise"
    assert summary["private_for_seconds"] > 0
    assert abs(summary["private_for_seconds"] - (ats[1] - created_at).total_seconds()) < 1e-3
    assert summary["members"] == 2  # Bob, the owner, and Alice, now an editor

    # Every member reads the same steps (the owner with messages and every address, others
    # without: tests/trust/test_log_view.py); nobody can alter the log through the API.
    as_member = await _log(alice, document_id)
    assert as_member["summary"] == log["summary"]
    assert [(e["id"], e["kind"], e["role"], e["reason"]) for e in as_member["events"]] == [
        (e["id"], e["kind"], e["role"], e["reason"]) for e in events]
    assert all(e["message"] is None for e in as_member["events"])
    for api in (alice, bob):
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            response = await api.http.request(method, f"{base}/log", json={"events": []})
            assert response.status_code == 405, (method, response.text)
            response = await api.http.request(method, f"{base}/log/{events[0]['id']}",
                                              json={"kind": "x"})
            assert response.status_code in (404, 405), (method, response.text)
    assert await _log(bob, document_id) == log


def _flat_routes(routes: list[Any]) -> list[tuple[str, set[str]]]:
    """Every route's full path and methods, also through routers FastAPI includes lazily."""
    flat = []
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            flat += [(ctx.path, set(ctx.methods or ())) for ctx in contexts()]
        else:
            flat.append((getattr(route, "path", ""), set(getattr(route, "methods", None) or ())))
    return flat


def test_no_route_but_get_touches_the_log() -> None:
    from app.main import create_app

    routes = _flat_routes(create_app().routes)
    assert ("/api/documents/{document_id}/invitations", {"POST"}) in routes  # the walk works
    log_routes = [(path, methods) for path, methods in routes if "log" in path.split("/")]
    assert log_routes == [("/api/documents/{document_id}/log", {"GET"})]
    # "/log" as a substring: only `/api/auth/login` (and `/logout`), which are not the log.
    assert {path for path, methods in routes if "/log" in path and methods - {"GET", "HEAD"}
            } <= {"/api/auth/login", "/api/auth/logout"}


# --- sections --------------------------------------------------------------------------------

async def test_sections_structure_status_assignee_and_scope(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    carol = await make_api().sign_up("Carol")
    reviewer = await make_api().sign_up("Rita")
    document_id = await alice.create_document("Book")
    base = f"/api/documents/{document_id}/sections"

    one = await _section(alice, document_id, "One")
    two = await _section(alice, document_id, "  ", status="in_progress",
                         due_date="2030-05-01")
    assert (one["root"], one["status"], one["position"]) == (
        f"section:{one['id']}", "draft", 1)
    assert (two["title"], two["status"], two["due_date"], two["position"]) == (
        "Untitled section", "in_progress", "2030-05-01", 2)
    await _add_member(alice, document_id, bob, "editor")
    await _add_member(alice, document_id, carol, "editor", sections=[one["id"]])
    # Rita is invited but not yet a member: she cannot be assigned a section.
    pending = await _invite(alice, document_id, reviewer.user["email"], "reviewer", "review")
    assert [(d["role"], d["sections"]) for d in (
        await carol.http.get("/api/documents")).json()] == [("editor", [one["id"]])]

    # A whole-document editor structures sections too.
    three = await _section(bob, document_id, "Three", assignee_id=carol.user["id"])
    assert three["assignee_id"] == carol.user["id"] and three["root"] == f"section:{three['id']}"
    response = await bob.http.patch(f"{base}/{one['id']}", json={"title": "Chapter one"})
    assert response.status_code == 200 and response.json()["title"] == "Chapter one"

    order = [three["id"], one["id"], two["id"]]
    response = await alice.http.put(f"{base}/order", json={"section_ids": order})
    assert response.status_code == 200, response.text
    assert [(s["id"], s["position"]) for s in response.json()] == [
        (order[0], 1), (order[1], 2), (order[2], 3)]
    for bad in ([three["id"], one["id"]], [*order, one["id"]],
                [three["id"], one["id"], str(uuid.uuid4())], []):
        response = await alice.http.put(f"{base}/order", json={"section_ids": bad})
        assert response.status_code == 422, (bad, response.text)
    assert [s["id"] for s in (await carol.http.get(base)).json()] == order

    # Status, assignee, due date.
    for status in ("draft", "in_progress", "in_review", "done"):
        response = await alice.http.patch(f"{base}/{two['id']}", json={"status": status})
        assert response.status_code == 200 and response.json()["status"] == status
    for bad_status in ("finished", "", "DONE", 3):
        response = await alice.http.patch(f"{base}/{two['id']}", json={"status": bad_status})
        assert response.status_code == 422, (bad_status, response.text)
    for assignee in (reviewer.user["id"], str(uuid.uuid4())):
        response = await alice.http.patch(f"{base}/{two['id']}", json={"assignee_id": assignee})
        assert response.status_code == 422, response.text
        response = await alice.http.post(base, json={"title": "x", "assignee_id": assignee})
        assert response.status_code == 422, response.text
    assert (await _respond(reviewer, pending["id"])).status_code == 200
    for assignee in (alice.user["id"], bob.user["id"], reviewer.user["id"]):
        response = await alice.http.patch(f"{base}/{two['id']}", json={"assignee_id": assignee})
        assert response.status_code == 200 and response.json()["assignee_id"] == assignee
    response = await alice.http.patch(f"{base}/{two['id']}",
                                      json={"assignee_id": None, "due_date": "2031-01-31"})
    assert response.status_code == 200, response.text
    assert (response.json()["assignee_id"], response.json()["due_date"]) == (None, "2031-01-31")
    response = await alice.http.patch(f"{base}/{two['id']}", json={"due_date": None})
    assert response.status_code == 200 and response.json()["due_date"] is None
    for due in ("2031-02-30", "soon", 5):
        response = await alice.http.patch(f"{base}/{two['id']}", json={"due_date": due})
        assert response.status_code == 422, (due, response.text)
    assert (await alice.http.patch(f"{base}/{uuid.uuid4()}",
                                   json={"status": "done"})).status_code == 404

    # The scoped editor: status (and assignee, due date) of their own section only.
    response = await carol.http.patch(f"{base}/{one['id']}",
                                      json={"status": "in_review", "due_date": "2030-06-01"})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["title"]) == ("in_review", "Chapter one")
    for method, path, body in [
        ("PATCH", f"{base}/{one['id']}", {"title": "Mine"}),
        ("PATCH", f"{base}/{two['id']}", {"status": "done"}),
        ("PATCH", f"{base}/{three['id']}", {"due_date": "2030-01-01"}),
        ("POST", base, {"title": "Extra"}),
        ("PUT", f"{base}/order", {"section_ids": list(reversed(order))}),
        ("DELETE", f"{base}/{one['id']}", None),
        ("DELETE", f"{base}/{two['id']}", None),
    ]:
        response = await carol.http.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        response = await reviewer.http.request(method, path, json=body)
        assert response.status_code == 403, ("reviewer", method, path, response.text)

    # Delete.
    assert (await alice.http.delete(f"{base}/{two['id']}")).status_code == 204
    assert (await alice.http.delete(f"{base}/{two['id']}")).status_code == 404
    assert (await bob.http.delete(f"{base}/{three['id']}")).status_code == 204
    final = (await alice.http.get(base)).json()
    assert [(s["id"], s["title"], s["status"], s["due_date"], s["root"]) for s in final] == [
        (one["id"], "Chapter one", "in_review", "2030-06-01", f"section:{one['id']}")]
    # Sections are not sharing events.
    assert [e["kind"] for e in (await _log(alice, document_id))["events"]] == [
        "created", "invited", "accepted", "invited", "accepted", "invited", "accepted"]


# --- bad input -------------------------------------------------------------------------------

async def test_bad_input_is_a_422_never_a_500(alice: Api, bob: Api) -> None:
    document_id = await alice.create_document("Robust")
    base = f"/api/documents/{document_id}"
    section = await _section(alice, document_id, "Only")
    await _add_member(alice, document_id, bob, "editor")
    valid = {"email": "x@example.org", "role": "viewer", "reason": "help"}
    member = f"{base}/members/{bob.user['id']}"
    cases: list[tuple[str, str, Any]] = [
        ("POST", f"{base}/invitations", b"{not json"),
        ("POST", f"{base}/invitations", b""),
        ("POST", f"{base}/invitations", b"\xff\xfe"),
        ("POST", f"{base}/invitations", []),
        ("POST", f"{base}/invitations", "a string"),
        ("POST", f"{base}/invitations", {}),
        ("POST", f"{base}/invitations", {**valid, "email": "not-an-email"}),
        ("POST", f"{base}/invitations", {**valid, "email": 42}),
        ("POST", f"{base}/invitations", {**valid, "role": "admin"}),
        ("POST", f"{base}/invitations", {**valid, "role": "owner"}),
        ("POST", f"{base}/invitations", {**valid, "role": ["editor"]}),
        ("POST", f"{base}/invitations", {**valid, "reason": "because"}),
        ("POST", f"{base}/invitations", {**valid, "sections": "all"}),
        ("POST", f"{base}/invitations", {**valid, "role": "editor", "sections": [1, 2]}),
        ("POST", f"{base}/invitations", {**valid, "role": "editor",
                                         "sections": [section["id"]] * 201}),
        ("POST", f"{base}/invitations", {**valid, "message": "x" * 2001}),
        ("POST", f"{base}/invitations", {**valid, "message": 7}),
        ("POST", f"{base}/invitations", {**valid, "expires_at": "tomorrow"}),
        ("POST", f"{base}/invite-requests", {**valid, "message": "x" * 2001}),
        ("POST", f"{base}/invite-requests", {**valid, "role": "owner"}),
        ("POST", f"{base}/invite-requests", b"[1,"),
        ("PATCH", member, {"role": "owner"}),
        ("PATCH", member, {"role": 1}),
        ("PATCH", member, {"sections": "everything"}),
        ("PATCH", member, {"role": "viewer", "sections": [section["id"]]}),
        ("PATCH", member, {"sections": []}),
        ("PATCH", member, {"sections": [str(uuid.uuid4())]}),
        ("PATCH", member, b"nope"),
        ("POST", f"{base}/transfer", {}),
        ("POST", f"{base}/transfer", {"user_id": 12}),
        ("POST", f"{base}/transfer", {"user_id": None}),
        ("POST", f"{base}/sections", {"title": "x" * 301}),
        ("POST", f"{base}/sections", {"title": None}),
        ("POST", f"{base}/sections", {"status": "someday"}),
        ("POST", f"{base}/sections", {"due_date": "yesterday"}),
        ("POST", f"{base}/sections", b"{"),
        ("PATCH", f"{base}/sections/{section['id']}", {"title": ["a"]}),
        ("PUT", f"{base}/sections/order", {"section_ids": "all"}),
        ("PUT", f"{base}/sections/order", {"section_ids": [None]}),
        ("PUT", f"{base}/sections/order", {}),
    ]
    failures = []
    for method, path, body in cases:
        outcome = await _send(alice, method, path, body)
        if outcome != 422:
            failures.append((method, path.removeprefix(base), repr(body)[:120], outcome))

    # A message at the limit is fine; a time without a zone is read as UTC; nothing refused
    # above left a trace.
    ok = await _invite(alice, document_id, "limit@example.org", message="x" * 2000)
    assert len(ok["message"]) == 2000
    naive = await alice.http.post(f"{base}/invitations", json={
        **valid, "email": "naive@example.org", "expires_at": "2099-01-01T00:00:00"})
    assert naive.status_code == 201, naive.text
    assert naive.json()["expires_at"] == "2099-01-01T00:00:00Z"
    assert [i["email"] for i in (await alice.http.get(f"{base}/invitations")).json()] == [
        bob.user["email"], "limit@example.org", "naive@example.org"]
    assert _members(await alice.http.get(f"{base}/members")) == [
        (alice.user["id"], "owner", None), (bob.user["id"], "editor", None)]
    assert [e["kind"] for e in (await _log(alice, document_id))["events"]] == [
        "created", "invited", "accepted", "invited", "invited"]

    assert failures == [], failures
    assert (await alice.http.get("/api/health")).status_code == 200


async def test_odd_ids_and_nul_characters_are_not_server_errors(alice: Api) -> None:
    """An unknown id is a 404 like any other; text with a NUL character is refused or
    stored, but never a server error (PostgreSQL cannot store or compare a NUL)."""
    document_id = await alice.create_document("Odd")
    base = f"/api/documents/{document_id}"
    valid = {"email": "x@example.org", "role": "viewer", "reason": "help"}
    nul = "a\x00b"
    stored_or_refused = {201, 422}
    odd: list[tuple[str, str, Any, set[int]]] = [
        ("GET", f"/api/documents/{'x' * 5000}", None, {404}),
        ("GET", "/api/documents/a%00b", None, {404}),
        ("GET", "/api/documents/a%00b/log", None, {404}),
        ("GET", "/api/documents/a%00b/members", None, {404}),
        ("POST", "/api/invitations/a%00b/accept", None, {404}),
        ("DELETE", f"{base}/invitations/a%00b", None, {404}),
        ("PATCH", f"{base}/members/a%00b", {"role": "viewer"}, {404}),
        ("POST", f"{base}/transfer", {"user_id": nul}, {404, 422}),
        ("PATCH", f"{base}/sections/a%00b", {"status": "done"}, {404}),
        ("POST", f"{base}/sections", {"title": "x", "assignee_id": nul}, {422}),
        ("POST", f"{base}/invitations", {**valid, "role": "editor", "sections": [nul]}, {422}),
        ("POST", f"{base}/invitations", {**valid, "email": "nul@example.org", "message": nul},
         stored_or_refused),
        ("POST", f"{base}/sections", {"title": nul}, stored_or_refused),
    ]
    failures = []
    for method, path, body, expected in odd:
        outcome = await _send(alice, method, path, body)
        if outcome not in expected:
            failures.append((method, path.removeprefix(base)[:40], repr(body)[:120], outcome))
    assert failures == [], failures
    assert (await alice.http.get("/api/health")).status_code == 200
