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
from sqlalchemy.exc import IntegrityError

from tests.support.api import Api, by_link

pytestmark = pytest.mark.shared_server

Json = dict[str, Any]


async def _invite(owner: Api, document_id: str, email: str, role: str = "editor") -> Json:
    response = await owner.http.post(f"/api/documents/{document_id}/invitations",
                                     json={"email": email, "role": role, "reason": "help"})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _member(owner: Api, document_id: str, member: Api, role: str = "editor") -> None:
    invitation = await _invite(owner, document_id, member.user["email"], role)
    response = await member.http.post(f"/api/invitations/{invitation['id']}/accept",
                                      json=by_link(invitation))
    assert response.status_code == 200, response.text


async def _kinds(api: Api, document_id: str) -> Counter[str]:
    response = await api.http.get(f"/api/documents/{document_id}/log")
    assert response.status_code == 200, response.text
    return Counter(event["kind"] for event in response.json()["events"])


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


async def test_concurrent_answers_to_one_invitation_count_once(
    make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document("Race")
    invitation = await _invite(alice, document_id, bob.user["email"])
    accept = f"/api/invitations/{invitation['id']}/accept"
    responses = await asyncio.gather(*(bob.http.post(accept, json=by_link(invitation))
                                       for _ in range(5)))
    assert _statuses(responses) == [200, 409, 409, 409, 409], [r.text for r in responses]
    assert (await _kinds(alice, document_id))["accepted"] == 1

    # An accept and a decline (and the owner withdrawing) at once: exactly one outcome.
    carol = await make_api().sign_up("Carol")
    invitation = await _invite(alice, document_id, carol.user["email"], "viewer")
    base = f"/api/invitations/{invitation['id']}"
    responses = list(await asyncio.gather(
        carol.http.post(f"{base}/accept", json=by_link(invitation)),
        carol.http.post(f"{base}/decline", json=by_link(invitation)),
        alice.http.delete(f"/api/documents/{document_id}/invitations/{invitation['id']}"),
        carol.http.post(f"{base}/accept", json=by_link(invitation))))
    assert sum(r.status_code in (200, 204) for r in responses) == 1, [r.text for r in responses]
    assert sorted(r.status_code for r in responses if r.status_code not in (200, 204)) == [
        409, 409, 409]
    kinds = await _kinds(alice, document_id)
    assert kinds["accepted"] + kinds["declined"] + kinds["withdrawn"] == 2


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
    # A loser may find the owner changed (409), itself no longer owner (403), or its target
    # no longer a member because it became the owner (404): a 4xx either way.
    assert all(s in (200, 403, 404, 409) for s in statuses), [r.text for r in responses]
    winner = (bob, carol, bob)[statuses.index(200)]
    loser = carol if winner is bob else bob

    document = (await winner.http.get(f"/api/documents/{document_id}")).json()
    assert document["owner_id"] == winner.user["id"] and document["role"] == "owner"
    members = (await winner.http.get(f"/api/documents/{document_id}/members")).json()
    assert sorted((m["user"]["id"], m["role"]) for m in members) == sorted([
        (winner.user["id"], "owner"), (alice.user["id"], "editor"),
        (loser.user["id"], "editor")])
    assert (await _kinds(winner, document_id))["ownership_transferred"] == 1


async def test_concurrent_sections_get_distinct_positions(alice: Api) -> None:
    document_id = await alice.create_document("Race")
    path = f"/api/documents/{document_id}/sections"
    responses = await asyncio.gather(
        *(alice.http.post(path, json={"title": f"Part {n}"}) for n in range(10)))
    assert _statuses(responses) == [201] * 10, [r.text for r in responses]
    positions = [s["position"] for s in (await alice.http.get(path)).json()]
    assert sorted(positions) == list(range(1, 11))


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
    responses = list(await asyncio.gather(alice.http.delete(revoke), alice.http.delete(revoke),
                                          carol.http.delete(revoke)))
    assert _statuses(responses) == [204, 404, 404], [r.text for r in responses]

    kinds = await _kinds(alice, document_id)
    assert kinds["invite_request_approved"] == 1
    assert kinds["revoked"] + kinds["left"] == 1
    invitations = (await alice.http.get(f"{base}/invitations")).json()
    assert [i["email"] for i in invitations if i["status"] == "pending"] == ["dan@example.org"]


@pytest.mark.empty_database
async def test_the_migration_withdraws_pending_duplicates_left_by_the_race(
    database_url: str,
) -> None:
    """Before the unique index, the race left several pending invitations to one address;
    migrating keeps the earliest and withdraws the others, in the log too."""
    from datetime import UTC, datetime, timedelta

    from alembic import command
    from sqlalchemy import insert, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from app import models
    from app.migrate import alembic_config

    config = alembic_config(database_url)
    await asyncio.to_thread(command.upgrade, config, "0003")
    engine = create_async_engine(database_url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(models.User), [
                {"id": "u1", "email": "o@example.org", "name": "O", "password_hash": "x",
                 "created_at": start}])
            await conn.execute(insert(models.Document), [
                {"id": "d1", "owner_id": "u1", "title": "T", "created_at": start,
                 "updated_at": start}])
            await conn.execute(insert(models.Invitation), [
                {"id": f"i{n}", "document_id": "d1", "inviter_id": "u1", "email": email,
                 "role": "viewer", "reason": "help", "status": "pending",
                 "created_at": start + timedelta(seconds=n)}
                for n, email in enumerate(["a@example.org"] * 3 + ["b@example.org"])])
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            statuses = {row.id: row.status for row in await conn.execute(
                select(models.Invitation.id, models.Invitation.status))}
            events = (await conn.execute(select(
                models.SharingEvent.kind, models.SharingEvent.invitation_id,
                models.SharingEvent.actor_id))).all()
        assert statuses == {"i0": "pending", "i1": "withdrawn", "i2": "withdrawn",
                            "i3": "pending"}
        assert sorted(events) == [("withdrawn", "i1", None), ("withdrawn", "i2", None)]
        # And the index is there: a second pending invitation to "b" is refused.
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert(models.Invitation), [{
                    "id": "i9", "document_id": "d1", "inviter_id": "u1",
                    "email": "b@example.org", "role": "viewer", "reason": "help",
                    "status": "pending", "created_at": start}])
        await asyncio.to_thread(command.downgrade, config, "0003")
        await asyncio.to_thread(command.upgrade, config, "head")
    finally:
        await engine.dispose()
