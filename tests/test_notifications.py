"""Notifications (issue 8, item 3): an invitation, an invite request to the owner, a reply to
my comment and a mention each land in the recipient's inbox and come by mail (through a real
SMTP server, aiosmtpd) unless that kind's mail is switched off; mentions name only members who
can read the text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support.api import Api, by_link, clients_of
from tests.support.mailbox import Mailbox, VerifiedApi, body_of
from tests.support.server import ServerProcess

pytestmark = pytest.mark.shared_server

Json = dict[str, Any]
_ANCHOR = {"start": "ALlgAwA=", "end": "ALlgCAA="}


@pytest.fixture
async def people(mailing_server: ServerProcess,
                 mailbox: Mailbox) -> AsyncIterator[Callable[[], Api]]:
    """Accounts on the mailing server, each with its address verified by mail."""
    async with clients_of(lambda: VerifiedApi(mailing_server.base_url, mailbox)) as make:
        yield make


async def _ok(api: Api, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = await api.http.request(method, path, json=body)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _join(owner: Api, document_id: str, member: Api, role: str) -> None:
    invitation = await _ok(owner, "POST", f"/api/documents/{document_id}/invitations", {
        "email": member.user["email"], "role": role, "reason": "help"}, 201)
    await _ok(member, "POST", f"/api/invitations/{invitation['id']}/accept", by_link(invitation))


async def _inbox(api: Api) -> list[tuple[str, str]]:
    return [(n["kind"], n["text"]) for n in await _ok(api, "GET", "/api/notifications")]


async def test_each_kind_reaches_the_inbox_and_the_mailbox_unless_switched_off(
    people: Callable[[], Api], mailbox: Mailbox
) -> None:
    alice, bob, rex, pat = [await people().sign_up(n) for n in ("Alice", "Bob", "Rex", "Pat")]
    stranger = await people().sign_up("Stranger")
    document_id = await alice.create_document("Plans")
    base = f"/api/documents/{document_id}"
    section = await _ok(alice, "POST", f"{base}/sections", {"title": "Intro"}, 201)

    # invited: in Bob's inbox (his address is verified); its one mail is the invitation's own.
    invitation = await _ok(alice, "POST", f"{base}/invitations", {
        "email": bob.user["email"], "role": "editor", "reason": "help"}, 201)
    assert await _inbox(bob) == [("invited", "Alice invites you to “Plans” as editor")]
    await mailbox.wait_for(bob.user["email"], 2)  # the verification mail, then the invitation
    assert "invites you" in str(mailbox.to(bob.user["email"])[1]["Subject"])
    await _ok(bob, "POST", f"/api/invitations/{invitation['id']}/accept")
    for member, role in ((rex, "reviewer"), (pat, "progress")):
        await _join(alice, document_id, member, role)

    # invite_request: the owner hears of it, in the inbox and by mail.
    await _ok(bob, "POST", f"{base}/invite-requests", {
        "email": "expert@example.org", "role": "viewer", "reason": "expertise"}, 201)
    assert (await _inbox(alice))[0] == (
        "invite_request", "Bob asks you to invite expert@example.org to “Plans” as viewer")
    request_mail = await mailbox.wait_for(alice.user["email"], 2)
    assert request_mail["Subject"] == "Someone asks you to invite a person on Widen"
    assert f"/#/d/{document_id}" in body_of(request_mail)

    # mention: only members who can read the text; Pat (progress) and a stranger are refused.
    assert [u["name"] for u in await _ok(rex, "GET", f"{base}/mentionable")] == [
        "Alice", "Bob", "Rex"]
    assert (await pat.http.get(f"{base}/mentionable")).status_code == 403
    assert (await stranger.http.get(f"{base}/mentionable")).status_code == 404
    thread = {"section_id": section["id"], "anchor": _ANCHOR, "quote": "q"}
    for outsider in (pat, stranger):
        refused = await rex.http.post(f"{base}/comments", json={
            **thread, "body": "@someone look", "mentions": [outsider.user["id"]]})
        assert refused.status_code == 422, refused.text
    assert [kind for kind, _ in await _inbox(pat)] == ["invited"]
    comment = await _ok(rex, "POST", f"{base}/comments", {
        **thread, "body": "@Bob could you check this?", "mentions": [bob.user["id"]]}, 201)
    assert (await _inbox(bob))[0] == (
        "mention", "Rex mentioned you in “Plans”: @Bob could you check this?")
    mention_mail = await mailbox.wait_for(bob.user["email"], 3)
    assert mention_mail["Subject"] == "You were mentioned in a comment on Widen"

    # reply: the thread's author hears of it.
    await _ok(bob, "POST", f"{base}/comments", {"parent_id": comment["id"], "body": "Done."},
              201)
    assert (await _inbox(rex))[0] == ("reply", "Bob replied to your comment in “Plans”: Done.")
    # Rex's mail so far: the verification, the invitation, and now the reply.
    reply_mail = await mailbox.wait_for(rex.user["email"], 3)
    assert reply_mail["Subject"] == "A reply to your comment on Widen"

    # Rex switches reply mail off: the next reply is in the inbox only. Alice, mentioned in
    # the same reply, gets her mail: once it is here, Rex's would have been too.
    choices = await _ok(rex, "PATCH", "/api/notifications/mail", {"reply": False})
    assert choices == {"invited": True, "invite_request": True, "reply": False,
                       "mention": True}
    assert await _ok(rex, "GET", "/api/notifications/mail") == choices
    await _ok(bob, "POST", f"{base}/comments", {
        "parent_id": comment["id"], "body": "And @Alice agrees.",
        "mentions": [alice.user["id"]]}, 201)
    await mailbox.wait_for(alice.user["email"], 3)
    assert [kind for kind, _ in await _inbox(rex)] == ["reply", "reply", "invited"]
    assert len(mailbox.to(rex.user["email"])) == 3

    # Reading: mine only; someone else's is a missing one.
    newest = (await _ok(rex, "GET", "/api/notifications"))[0]
    assert newest["read_at"] is None
    read = await _ok(rex, "POST", f"/api/notifications/{newest['id']}/read")
    assert read["read_at"] is not None and read["id"] == newest["id"]
    assert (await bob.http.post(f"/api/notifications/{newest['id']}/read")).status_code == 404
    bad = await rex.http.patch("/api/notifications/mail", json={"reply": "sometimes"})
    assert bad.status_code == 422, bad.text


async def test_an_unverified_account_gets_no_invited_notice_and_no_notification_mail(
    live_server: ServerProcess, make_api: Callable[[], Api], alice: Api
) -> None:
    """Registering an invited address tells it nothing (not even in the inbox)."""
    document_id = await alice.create_document("Plans")
    squatter = await make_api().sign_up("Squatter", "wanted@example.org")
    await _ok(alice, "POST", f"/api/documents/{document_id}/invitations", {
        "email": "wanted@example.org", "role": "viewer", "reason": "help"}, 201)
    assert await _inbox(squatter) == []
