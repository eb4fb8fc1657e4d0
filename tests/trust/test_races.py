"""Concurrent requests have exactly one effect (issue 7, item 14).

Each test fires the same state change several times at once against a real server and checks
that one wins, the others get a 4xx, and the sharing log tells it once. The races are closed in
the database (conditional updates, partial unique indexes, a lock on the document), so they
hold on SQLite and PostgreSQL and across processes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.api import Api

Json = dict[str, Any]


async def _invite(owner: Api, document_id: str, email: str, role: str = "editor") -> Json:
    response = await owner.http.post(f"/api/documents/{document_id}/invitations",
                                     json={"email": email, "role": role, "reason": "help"})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _member(owner: Api, document_id: str, member: Api, role: str = "editor") -> None:
    invitation = await _invite(owner, document_id, member.user["email"], role)
    response = await member.http.post(f"/api/invitations/{invitation['id']}/accept")
    assert response.status_code == 200, response.text


async def _kinds(api: Api, document_id: str) -> Counter[str]:
    response = await api.http.get(f"/api/documents/{document_id}/log")
    assert response.status_code == 200, response.text
    return Counter(event["kind"] for event in response.json()["events"])


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


@pytest.mark.xfail(strict=True, reason="issue 7 item 14: five accepts make five 200s")
async def test_concurrent_answers_to_one_invitation_count_once(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document("Race")
    invitation = await _invite(alice, document_id, bob.user["email"])
    accept = f"/api/invitations/{invitation['id']}/accept"
    responses = await asyncio.gather(*(bob.http.post(accept) for _ in range(5)))
    assert _statuses(responses) == [200, 409, 409, 409, 409], [r.text for r in responses]
    assert (await _kinds(alice, document_id))["accepted"] == 1

    # An accept and a decline (and the owner withdrawing) at once: exactly one outcome.
    carol = await make_api().sign_up("Carol")
    invitation = await _invite(alice, document_id, carol.user["email"], "viewer")
    base = f"/api/invitations/{invitation['id']}"
    responses = await asyncio.gather(
        carol.http.post(f"{base}/accept"), carol.http.post(f"{base}/decline"),
        alice.http.delete(f"/api/documents/{document_id}/invitations/{invitation['id']}"),
        carol.http.post(f"{base}/accept"))
    assert sum(r.status_code in (200, 204) for r in responses) == 1, [r.text for r in responses]
    assert sorted(r.status_code for r in responses if r.status_code not in (200, 204)) == [
        409, 409, 409]
    kinds = await _kinds(alice, document_id)
    assert kinds["accepted"] + kinds["declined"] + kinds["withdrawn"] == 2


@pytest.mark.xfail(strict=True, reason="issue 7 item 14: ten invitations make several pending")
async def test_concurrent_invitations_to_one_address_make_one(alice: Api) -> None:
    document_id = await alice.create_document("Race")
    path = f"/api/documents/{document_id}/invitations"
    body = {"email": "once@example.org", "role": "viewer", "reason": "help"}
    responses = await asyncio.gather(*(alice.http.post(path, json=body) for _ in range(10)))
    assert _statuses(responses) == [201] + [409] * 9, [r.text for r in responses]
    for response in responses:
        assert response.json()["detail"] if response.status_code == 409 else True
    pending = [i for i in (await alice.http.get(path)).json() if i["status"] == "pending"]
    assert len(pending) == 1
    assert (await _kinds(alice, document_id))["invited"] == 1


@pytest.mark.xfail(strict=True, reason="issue 7 item 14: concurrent transfers are a 500")
async def test_concurrent_ownership_transfers_make_one_owner(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    carol = await make_api().sign_up("Carol")
    document_id = await alice.create_document("Race")
    for member in (bob, carol):
        await _member(alice, document_id, member)
    path = f"/api/documents/{document_id}/transfer"
    responses = await asyncio.gather(
        alice.http.post(path, json={"user_id": bob.user["id"]}),
        alice.http.post(path, json={"user_id": carol.user["id"]}),
        alice.http.post(path, json={"user_id": bob.user["id"]}))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, [r.text for r in responses]
    assert all(s in (200, 403, 409) for s in statuses), [r.text for r in responses]
    winner = (bob, carol, bob)[statuses.index(200)]
    loser = carol if winner is bob else bob

    document = (await winner.http.get(f"/api/documents/{document_id}")).json()
    assert document["owner_id"] == winner.user["id"] and document["role"] == "owner"
    members = (await winner.http.get(f"/api/documents/{document_id}/members")).json()
    assert sorted((m["user"]["id"], m["role"]) for m in members) == sorted([
        (winner.user["id"], "owner"), (alice.user["id"], "editor"),
        (loser.user["id"], "editor")])
    assert (await _kinds(winner, document_id))["ownership_transferred"] == 1


@pytest.mark.xfail(strict=True, reason="issue 7 item 14: concurrent sections share positions")
async def test_concurrent_sections_get_distinct_positions(alice: Api) -> None:
    document_id = await alice.create_document("Race")
    path = f"/api/documents/{document_id}/sections"
    responses = await asyncio.gather(
        *(alice.http.post(path, json={"title": f"Part {n}"}) for n in range(10)))
    assert _statuses(responses) == [201] * 10, [r.text for r in responses]
    positions = [s["position"] for s in (await alice.http.get(path)).json()]
    assert sorted(positions) == list(range(1, 11))


@pytest.mark.xfail(strict=True, reason="issue 7 item 14: double revokes and approvals")
async def test_concurrent_revokes_and_approvals_count_once(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    carol = await make_api().sign_up("Carol")
    document_id = await alice.create_document("Race")
    base = f"/api/documents/{document_id}"
    await _member(alice, document_id, bob)
    await _member(alice, document_id, carol, "viewer")

    request = (await bob.http.post(f"{base}/invite-requests", json={
        "email": "dan@example.org", "role": "viewer", "reason": "help"})).json()
    approve = f"{base}/invite-requests/{request['id']}/approve"
    responses = await asyncio.gather(*(alice.http.post(approve) for _ in range(4)))
    assert _statuses(responses) == [200, 409, 409, 409], [r.text for r in responses]

    revoke = f"{base}/members/{carol.user['id']}"
    responses = await asyncio.gather(alice.http.delete(revoke), alice.http.delete(revoke),
                                     carol.http.delete(revoke))
    assert _statuses(responses) == [204, 404, 404], [r.text for r in responses]

    kinds = await _kinds(alice, document_id)
    assert kinds["invite_request_approved"] == 1
    assert kinds["revoked"] + kinds["left"] == 1
    invitations = (await alice.http.get(f"{base}/invitations")).json()
    assert [i["email"] for i in invitations if i["status"] == "pending"] == ["dan@example.org"]
