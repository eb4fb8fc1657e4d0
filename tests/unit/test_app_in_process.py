"""The whole app in this process, over an in-memory transport (the fast tier): the sharing and
account rules through the routes that translate their domain errors, in well under a second a
test. The real-server suite checks the same app over real sockets; this tier is for quick
iteration on the rules themselves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from argon2 import extract_parameters
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.api import PASSWORD, Api, by_link
from tests.unit.conftest import AppFactory, client_of

MakeClient = Callable[[], Api]


async def _kinds(api: Api, document_id: str) -> list[str]:
    log = await api.http.get(f"/api/documents/{document_id}/log")
    assert log.status_code == 200, log.text
    return [event["kind"] for event in log.json()["events"]]


async def _invite(owner: Api, document_id: str, invitee: Api, role: str) -> dict[str, Any]:
    response = await owner.http.post(f"/api/documents/{document_id}/invitations", json={
        "email": invitee.user["email"], "role": role, "reason": "expertise"})
    assert response.status_code == 201, response.text
    invitation: dict[str, Any] = response.json()
    return invitation


async def test_an_invitation_widens_the_circle_step_by_step(make_client: MakeClient) -> None:
    owner = await make_client().sign_up("Olga")
    guest = await make_client().sign_up("Gus")
    document_id = await owner.create_document("Plan")
    base = f"/api/documents/{document_id}"
    assert (await guest.http.get(base)).status_code == 404

    invitation = await _invite(owner, document_id, guest, "viewer")
    accept = f"/api/invitations/{invitation['id']}/accept"
    assert (await guest.http.post(accept, json=by_link(invitation))).status_code == 200
    again = await guest.http.post(accept, json=by_link(invitation))
    assert (again.status_code, again.json()["code"]) == (409, "link-used-up")
    members = (await owner.http.get(f"{base}/members")).json()
    assert [(m["user"]["name"], m["role"], m["reason"]) for m in members] == [
        ("Olga", "owner", None), ("Gus", "viewer", "expertise")]
    assert (await guest.http.get(base)).status_code == 200

    changed = await owner.http.patch(f"{base}/members/{guest.user['id']}",
                                     json={"role": "reviewer"})
    assert (changed.status_code, changed.json()["role"]) == (200, "reviewer")
    assert (await owner.http.delete(f"{base}/members/{guest.user['id']}")).status_code == 204
    assert (await guest.http.get(base)).status_code == 404
    assert await _kinds(owner, document_id) == [
        "created", "invited", "accepted", "role_changed", "revoked"]


async def test_each_kind_of_refusal_keeps_its_answer(make_client: MakeClient) -> None:
    """Domain errors know no HTTP; the translation gives each kind one shape everywhere."""
    owner = await make_client().sign_up("Olga")
    guest = await make_client().sign_up("Gus")
    document_id = await owner.create_document("Plan")
    base = f"/api/documents/{document_id}"

    scoped_viewer = await owner.http.post(f"{base}/invitations", json={
        "email": guest.user["email"], "role": "viewer", "reason": "review", "sections": ["x"]})
    assert scoped_viewer.status_code == 422
    assert scoped_viewer.json() == {"detail": [{
        "loc": ["body", "sections"], "msg": "Only an editor can be limited to sections",
        "type": "editor-only"}]}

    await _invite(owner, document_id, guest, "viewer")
    twice = await owner.http.post(f"{base}/invitations", json={
        "email": guest.user["email"], "role": "viewer", "reason": "review"})
    assert twice.json() == {"code": "already-pending",
                            "detail": "An invitation to this address is already pending"}
    leave = await owner.http.delete(f"{base}/members/{owner.user['id']}")
    assert (leave.status_code, leave.json()["code"]) == (409, "owner-cannot-leave")

    hidden = await guest.http.get(base)
    missing = await guest.http.get("/api/documents/no-such-document")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "Document not found"}

    wrong = await guest.http.post("/api/auth/login", json={"email": guest.user["email"],
                                                           "password": "not the password"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Wrong email or password"})
    used = await guest.http.post("/api/auth/verify", json={"token": "never-issued"})
    assert used.status_code == 400 and "not valid" in used.json()["detail"]


async def test_a_sign_in_rehashes_a_password_made_at_another_cost(
    start_app: AppFactory, sqlite_path: Path
) -> None:
    """Raising argon2's cost (a setting) reaches existing accounts as they sign in."""
    async def stored_cost(email: str) -> int:
        engine = create_async_engine(f"sqlite+aiosqlite:///{sqlite_path}")
        try:
            async with engine.connect() as conn:
                stored = (await conn.execute(
                    text("SELECT password_hash FROM users WHERE email = :email"),
                    {"email": email})).scalar_one()
        finally:
            await engine.dispose()
        return extract_parameters(str(stored)).time_cost

    cheap = await start_app(password_hash_iterations=1)
    async with client_of(cheap) as first:
        email = (await first.sign_up("Ada")).user["email"]
    assert await stored_cost(email) == 1

    dearer = await start_app(password_hash_iterations=2)
    async with client_of(dearer) as later:
        signed_in = await later.http.post("/api/auth/login",
                                          json={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
    assert await stored_cost(email) == 2
