"""Invitations reach only the holder of the address (issue 8, items 1 and 2; DESIGN §8), and
accounts prove addresses and reset passwords by mail — through a real server and a real SMTP
server (aiosmtpd) that receives what Widen sends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.api import PASSWORD, Api, by_link, clients_of, link_token
from tests.support.events import EventClient, about
from tests.support.mailbox import Mailbox, body_of, link_in, token_of, verify_address
from tests.support.server import ServerProcess, free_port

pytestmark = pytest.mark.shared_server

Json = dict[str, Any]


@pytest.fixture
async def mail_users(mailing_server: ServerProcess) -> AsyncIterator[Callable[[], Api]]:
    """Clients of the server that mails (`make_api` serves the one that does not)."""
    async with clients_of(lambda: Api(mailing_server.base_url)) as make:
        yield make


async def _invite(owner: Api, document_id: str, email: str, role: str = "reviewer",
                  **extra: Any) -> Json:
    response = await owner.http.post(f"/api/documents/{document_id}/invitations", json={
        "email": email, "role": role, "reason": "review", **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _accept(api: Api, invitation_id: str, token: str | None = None) -> int:
    body = {"token": token} if token is not None else None
    response = await api.http.post(f"/api/invitations/{invitation_id}/accept", json=body)
    assert "detail" in response.json() or response.status_code == 200, response.text
    return response.status_code


async def _socket(server: ServerProcess, document_id: str, ticket: str) -> ClientConnection:
    return await websockets.connect(f"{server.ws_url}/{document_id}?ticket={ticket}")


async def _closed(socket: ClientConnection) -> tuple[int | None, str | None]:
    """The close code and reason, once the server closed the socket."""
    async with asyncio.timeout(15):
        try:
            while True:
                await socket.recv()
        except websockets.ConnectionClosed:
            pass
    return socket.close_code, socket.close_reason


async def _mail_state(owner: Api, document_id: str, invitation_id: str, wanted: str,
                      timeout: float = 20.0) -> Json:
    """The invitation as the owner's share dialog lists it, once its mail reached `wanted`."""
    deadline = time.monotonic() + timeout
    while True:
        response = await owner.http.get(f"/api/documents/{document_id}/invitations")
        assert response.status_code == 200, response.text
        found = next(i for i in response.json() if i["id"] == invitation_id)
        if found["mail"] is not None and found["mail"]["status"] == wanted:
            return dict(found)
        assert time.monotonic() < deadline, f"mail never {wanted}: {found['mail']}"
        await asyncio.sleep(0.1)


async def test_the_mail_arrives_with_a_link_that_works_once_for_whoever_holds_it(
    mailing_server: ServerProcess, mailbox: Mailbox, mail_users: Callable[[], Api]
) -> None:
    make_api = mail_users
    alice = await make_api().sign_up("Alice")
    document_id = await alice.create_document("Press release")
    invitation = await _invite(alice, document_id, "Rex@Example.org",
                               message="Could you proof-read it by Friday?")

    mail = await mailbox.wait_for("rex@example.org")
    assert mail["Subject"] == "Alice invites you to “Press release” on Widen"
    assert mail["From"] == "Widen <widen@example.org>"
    body = body_of(mail)
    assert "it needs proof-reading" in body and "a reviewer" in body
    assert "> Could you proof-read it by Friday?" in body
    link = link_in(mail)
    assert link == invitation["link"]
    assert link.startswith(f"{mailing_server.base_url}/#/invite/{invitation['id']}/")
    sent = await _mail_state(alice, document_id, invitation["id"], "sent")
    assert (sent["status"], sent["mail"]["attempts"], sent["mail"]["error"]) == (
        "pending", 1, None)

    # Registering the address proves nothing: no invitation, no document, no accepting by id.
    squatter = await make_api().sign_up("Not Rex", "rex@example.org")
    assert (await squatter.http.get("/api/invitations")).json() == []
    assert (await squatter.http.get(f"/api/documents/{document_id}")).status_code == 404
    assert await _accept(squatter, invitation["id"]) == 404

    # A wrong secret, or the right one for another invitation, is a missing invitation.
    other = await _invite(alice, document_id, "someone@example.org")
    assert await _accept(squatter, invitation["id"], "not-the-secret") == 404
    assert await _accept(squatter, invitation["id"], link_token(other)) == 404

    # The link is the proof, whatever address the account holds; it works once.
    rex = await make_api().sign_up("Rex", "rex.at.home@example.org")
    assert await _accept(rex, invitation["id"], token_of(link)) == 200
    document = (await rex.http.get(f"/api/documents/{document_id}")).json()
    assert document["role"] == "reviewer"
    assert await _accept(rex, invitation["id"], token_of(link)) == 409
    used = await squatter.http.post(f"/api/invitations/{invitation['id']}/accept",
                                    json={"token": token_of(link)})
    assert used.status_code == 409 and "used up" in used.json()["detail"]
    assert (await squatter.http.get(f"/api/documents/{document_id}")).status_code == 404


async def test_registering_an_invited_address_without_proof_reveals_nothing(
    live_server: ServerProcess, make_api: Callable[[], Api], alice: Api
) -> None:
    """Without SMTP (`make run`): the link is the owner's to pass on; the address alone
    reaches nothing, and an unverified account still works on its own documents."""
    document_id = await alice.create_document("Secret plans")
    invitation = await _invite(alice, document_id, "eve@example.org", "editor",
                               message="For your eyes only")
    assert invitation["mail"] is None and invitation["link"]

    eve = await make_api().sign_up("Eve", "eve@example.org")
    me = (await eve.http.get("/api/me")).json()
    assert (me["email_verified"], me["mail_enabled"]) == (False, False)
    inbox = await eve.http.get("/api/invitations")
    assert inbox.status_code == 200 and inbox.json() == []
    assert (await eve.http.get(f"/api/documents/{document_id}")).status_code == 404
    assert [d["id"] for d in (await eve.http.get("/api/documents")).json()] == []
    for answer in ("accept", "decline"):
        response = await eve.http.post(f"/api/invitations/{invitation['id']}/{answer}")
        assert response.status_code == 404, response.text
        assert "For your eyes only" not in response.text
    # Eve cannot verify the address on a server without mail, and keeps working on her own.
    assert (await eve.http.post("/api/auth/verification")).status_code == 409
    own = await eve.create_document("Mine")
    assert (await eve.http.get(f"/api/documents/{own}")).status_code == 200
    # The invitation is untouched: the owner still sees it pending.
    listed = (await alice.http.get(f"/api/documents/{document_id}/invitations")).json()
    assert [(i["id"], i["status"]) for i in listed] == [(invitation["id"], "pending")]


async def test_links_expire_with_their_invitation_or_after_14_days_and_a_new_one_replaces_it(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document("Plans")
    lasting = await _invite(alice, document_id, "later@example.org")
    created = datetime.fromisoformat(lasting["created_at"])
    expiry = datetime.fromisoformat(lasting["link_expires_at"])
    assert abs(expiry - created - timedelta(days=14)) < timedelta(seconds=5)

    # A new link for the same invitation: the old one stops working, the new one works.
    renewed = await alice.http.post(
        f"/api/documents/{document_id}/invitations/{lasting['id']}/link")
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["link"] != lasting["link"]
    assert await _accept(bob, lasting["id"], link_token(lasting)) == 404
    assert await _accept(bob, lasting["id"], link_token(renewed.json())) == 200

    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    short = await _invite(alice, document_id, "brief@example.org",
                          expires_at=soon.isoformat())
    assert datetime.fromisoformat(short["link_expires_at"]) == soon
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.3)
    carol = await Api(live_server.base_url).sign_up("Carol")
    response = await carol.http.post(f"/api/invitations/{short['id']}/accept",
                                     json=by_link(short))
    assert response.status_code == 409 and "expired" in response.json()["detail"]
    assert (await carol.http.get(f"/api/documents/{document_id}")).status_code == 404
    # An expired invitation gets no new link either.
    again = await alice.http.post(f"/api/documents/{document_id}/invitations/{short['id']}/link")
    assert again.status_code == 409, again.text
    await carol.aclose()


async def test_with_the_mail_server_down_the_invitation_waits_and_shows_the_failure(
    start_server: Callable[..., ServerProcess], mailbox: Mailbox
) -> None:
    nobody_listens = free_port()
    server = start_server(**{**mailbox.settings(), "smtp_port": str(nobody_listens),
                             "mail_retry_seconds": "60"})
    alice = await Api(server.base_url).sign_up("Alice")
    document_id = await alice.create_document("Plans")
    invitation = await _invite(alice, document_id, "rex@example.org")
    assert invitation["mail"]["status"] == "queued"

    failed = await _mail_state(alice, document_id, invitation["id"], "retrying")
    assert failed["status"] == "pending" and failed["mail"]["attempts"] == 1
    assert failed["mail"]["error"] and failed["mail"]["sent_at"] is None
    # The link still works: the owner can pass it on another way.
    renewed = await alice.http.post(
        f"/api/documents/{document_id}/invitations/{invitation['id']}/link")
    rex = await Api(server.base_url).sign_up("Rex", "rex@example.org")
    assert await _accept(rex, invitation["id"], link_token(renewed.json())) == 200
    assert "mail.failed" in server.logs()
    for api in (alice, rex):
        await api.aclose()


async def test_the_owners_live_channel_hears_the_mail_delivered(
    mailing_server: ServerProcess, mailbox: Mailbox, mail_users: Callable[[], Api]
) -> None:
    """The share dialog follows an invitation's mail through the live channel, not by polling."""
    alice = await mail_users().sign_up("Alice")
    document_id = await alice.create_document("Press release")
    owner = await EventClient(mailing_server, alice.token).connect()
    try:
        invitation = await _invite(alice, document_id, "rex@example.org")
        await mailbox.wait_for("rex@example.org")
        told = await owner.wait_for(about(document_id, "invitation", change="mail"))
        assert told == {"type": "invitation", "document_id": document_id, "change": "mail",
                        "invitation_id": invitation["id"], "mail": "sent"}
        # Told once it is recorded: the dialog refetching on the event sees it delivered.
        listed = (await alice.http.get(f"/api/documents/{document_id}/invitations")).json()
        assert listed[0]["mail"]["status"] == "sent"
    finally:
        await owner.close()


async def test_with_the_mail_server_down_the_owner_hears_each_failure_then_the_giving_up(
    start_server: Callable[..., ServerProcess], mailbox: Mailbox
) -> None:
    server = start_server(**{**mailbox.settings(), "smtp_port": str(free_port()),
                             "mail_retry_seconds": "0.1", "mail_max_attempts": "2"})
    alice = await Api(server.base_url).sign_up("Alice")
    document_id = await alice.create_document("Plans")
    owner = await EventClient(server, alice.token).connect()
    try:
        invitation = await _invite(alice, document_id, "rex@example.org")
        for state in ("retrying", "failed"):
            told = await owner.wait_for(about(document_id, "invitation", change="mail",
                                              mail=state), timeout=20)
            assert told is not None and told["invitation_id"] == invitation["id"]
        listed = (await alice.http.get(f"/api/documents/{document_id}/invitations")).json()
        assert (listed[0]["mail"]["status"], listed[0]["mail"]["attempts"]) == ("failed", 2)
    finally:
        await owner.close()
        await alice.aclose()


async def test_a_verified_address_receives_its_invitations_by_address(
    mailbox: Mailbox, mail_users: Callable[[], Api]
) -> None:
    make_api = mail_users
    alice = await make_api().sign_up("Alice")
    document_id = await alice.create_document("Plans")
    invitation = await _invite(alice, document_id, "vera@example.org", "viewer")
    vera = await make_api().sign_up("Vera", "vera@example.org")
    assert (await vera.http.get("/api/invitations")).json() == []

    await verify_address(vera, mailbox)
    mails = mailbox.to("vera@example.org")
    verify_link = link_in(mails[-1])
    reused = await vera.http.post("/api/auth/verify", json={"token": token_of(verify_link)})
    assert reused.status_code == 400, reused.text
    assert (await vera.http.post("/api/auth/verification")).status_code == 409

    inbox = (await vera.http.get("/api/invitations")).json()
    assert [(i["id"], i["document_title"]) for i in inbox] == [(invitation["id"], "Plans")]
    assert await _accept(vera, invitation["id"]) == 200
    assert (await vera.http.get(f"/api/documents/{document_id}")).json()["role"] == "viewer"


async def test_a_password_reset_ends_every_session_ticket_and_socket(
    mailing_server: ServerProcess, mailbox: Mailbox, mail_users: Callable[[], Api]
) -> None:
    make_api = mail_users
    bob = await make_api().sign_up("Bob", "bob@example.org")
    document_id = await bob.create_document("Notes")
    other_login = make_api()
    response = await other_login.http.post("/api/auth/login", json={
        "email": "bob@example.org", "password": PASSWORD})
    assert response.status_code == 200, response.text
    other_login.http.headers["Authorization"] = f"Bearer {response.json()['token']}"
    socket = await _socket(mailing_server, document_id, await bob.ticket(document_id))
    assert await socket.recv()  # admitted: the server's first sync message
    unused_ticket = await other_login.ticket(document_id)

    # The same answer for an address with no account: it reveals nobody.
    stranger = await make_api().http.post("/api/auth/password-reset",
                                          json={"email": "nobody@example.org"})
    asked = await make_api().http.post("/api/auth/password-reset",
                                       json={"email": "Bob@Example.org"})
    assert (stranger.status_code, asked.status_code) == (202, 202)
    assert stranger.json()["detail"].replace("nobody", "bob") == asked.json()["detail"]
    link = link_in(await mailbox.wait_for("bob@example.org"))
    assert link.startswith(f"{mailing_server.base_url}/#/reset/")
    assert mailbox.to("nobody@example.org") == []

    short = await make_api().http.post("/api/auth/password-reset/confirm", json={
        "token": token_of(link), "password": "short"})
    assert short.status_code == 422, short.text
    reset = await make_api().http.post("/api/auth/password-reset/confirm", json={
        "token": token_of(link), "password": "a brand new password"})
    assert reset.status_code == 204, reset.text

    code, reason = await _closed(socket)
    assert code == 4401 and reason is not None and reason.startswith("signed-out"), reason
    for api in (bob, other_login):
        assert (await api.http.get("/api/me")).status_code == 401
    late = await _socket(mailing_server, document_id, unused_ticket)
    assert (await _closed(late))[0] == 4404
    old = await make_api().http.post("/api/auth/login", json={
        "email": "bob@example.org", "password": PASSWORD})
    new = await make_api().http.post("/api/auth/login", json={
        "email": "bob@example.org", "password": "a brand new password"})
    assert (old.status_code, new.status_code) == (401, 200)
    # The mailed link proved the address too; and it cannot be used twice.
    assert new.json()["user"]["id"] == bob.user["id"]
    me = await make_api().http.get("/api/me", headers={
        "Authorization": f"Bearer {new.json()['token']}"})
    assert me.json()["email_verified"] is True
    again = await make_api().http.post("/api/auth/password-reset/confirm", json={
        "token": token_of(link), "password": "yet another password"})
    assert again.status_code == 400, again.text
