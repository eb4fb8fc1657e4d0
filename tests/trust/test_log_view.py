"""What each role sees of the sharing log (issue 7, item 7; DESIGN §3).

The owner sees everything. Every other member, progress included, sees each step's who, role,
scope, reason and time, but no invitation or request message and no address of anyone who is
not a member: an invitation nobody took up shows as "an invitation".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.api import Api, by_link

Json = dict[str, Any]
INVITE_MESSAGE = "private note to the invitee"
REQUEST_MESSAGE = "private note to the owner"


async def _post(api: Api, path: str, body: Json | None = None, expect: int = 200) -> Json:
    response = await api.http.post(path, json=body)
    assert response.status_code == expect, response.text
    return dict(response.json())


async def _invite(owner: Api, document_id: str, email: str, role: str, **extra: Any) -> Json:
    return await _post(owner, f"/api/documents/{document_id}/invitations",
                       {"email": email, "role": role, "reason": "help", **extra}, 201)


async def _log(api: Api, document_id: str) -> Json:
    response = await api.http.get(f"/api/documents/{document_id}/log")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_members_see_every_step_but_no_messages_and_no_outsiders_addresses(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    carol, vic, pat, sam = [await make_api().sign_up(n) for n in ("Carol", "Vic", "Pat", "Sam")]
    document_id = await alice.create_document("Plans")
    base = f"/api/documents/{document_id}"
    members = {bob: "editor", vic: "viewer", pat: "progress", sam: "reviewer"}
    for member, role in members.items():
        invitation = await _invite(alice, document_id, member.user["email"], role,
                                   message=INVITE_MESSAGE)
        await _post(member, f"/api/invitations/{invitation['id']}/accept", by_link(invitation))
    declined = await _invite(alice, document_id, carol.user["email"], "viewer",
                             message=INVITE_MESSAGE)
    await _post(carol, f"/api/invitations/{declined['id']}/decline", by_link(declined))
    await _invite(alice, document_id, "dave@example.org", "viewer", message=INVITE_MESSAGE)
    withdrawn = await _invite(alice, document_id, "erin@example.org", "reviewer")
    assert (await alice.http.delete(f"{base}/invitations/{withdrawn['id']}")).status_code == 204
    request = await _post(bob, f"{base}/invite-requests", {
        "email": "gina@example.org", "role": "viewer", "reason": "help",
        "message": REQUEST_MESSAGE}, 201)
    await _post(alice, f"{base}/invite-requests/{request['id']}/refuse")
    # Sam leaves: a former member, named in the log, whose address is no longer shown.
    assert (await sam.http.delete(f"{base}/members/{sam.user['id']}")).status_code == 204

    full = await _log(alice, document_id)
    outsiders = [carol.user["email"], "dave@example.org", "erin@example.org",
                 "gina@example.org", sam.user["email"]]
    text = str(full)
    assert all(secret in text for secret in (INVITE_MESSAGE, REQUEST_MESSAGE, *outsiders))

    for reader in (bob, vic, pat):
        response = await reader.http.get(f"{base}/log")
        assert response.status_code == 200, response.text
        for secret in (INVITE_MESSAGE, REQUEST_MESSAGE, *outsiders, carol.user["id"]):
            assert secret not in response.text, (reader.user["name"], secret)
        seen = response.json()
        assert seen["summary"] == full["summary"]
        # Every step is there, with its kind, role, scope, reason and time.
        assert [(e["id"], e["kind"], e["role"], e["sections"], e["reason"], e["at"])
                for e in seen["events"]] == [
            (e["id"], e["kind"], e["role"], e["sections"], e["reason"], e["at"])
            for e in full["events"]]
        for mine, whole in zip(seen["events"], full["events"], strict=True):
            assert mine["message"] is None
            for who in ("actor", "subject"):
                if mine[who] is not None:
                    assert mine[who]["id"] == whole[who]["id"]
                    assert mine[who]["name"] == whole[who]["name"]
        by_kind = [(e["kind"], (e["subject"] or {}).get("name"), e["subject_email"])
                   for e in seen["events"]]
        # An invitation names no account (whoever registered the address may not be the
        # person invited, DESIGN §8); the acceptance names who accepted.
        assert by_kind[1:10] == [
            ("invited", None, bob.user["email"]), ("accepted", "Bob", bob.user["email"]),
            ("invited", None, vic.user["email"]), ("accepted", "Vic", vic.user["email"]),
            ("invited", None, pat.user["email"]), ("accepted", "Pat", pat.user["email"]),
            ("invited", None, None), ("accepted", "Sam", None),
            # Carol declined: her invitation is just "an invitation", her answer too.
            ("invited", None, None),
        ]
        declined_event = seen["events"][10]
        assert (declined_event["kind"], declined_event["actor"], declined_event["subject"]) == (
            "declined", None, None)
        assert by_kind[11:] == [
            ("invited", None, None), ("invited", None, None), ("withdrawn", None, None),
            ("invite_requested", None, None), ("invite_request_refused", "Bob", None),
            ("left", "Sam", None),
        ]
        sam_seen = seen["events"][-1]["subject"]
        assert sam_seen == {"id": sam.user["id"], "name": "Sam", "email": None}
        assert seen["events"][0]["actor"]["email"] == alice.user["email"]
