"""The trash, on a real server: a deleted document is gone for everyone at once (members get
the 404 of a missing document and their sockets close), its owner restores it with members,
grants and text as they were, and after the trash period it is purged for good."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import models
from app.db import create_engine, create_sessionmaker
from app.settings import Settings
from app.timeutil import utcnow
from app.trash import purge_expired
from crdt.schema import doc_updates
from crdt.update_log import UpdateLog
from tests.support.api import Api, by_link
from tests.support.server import ServerProcess
from tests.support.sharing import append, connect, share, text_of

pytestmark = pytest.mark.shared_server

Json = dict[str, Any]
DAYS_30 = timedelta(days=30)


@pytest.fixture
async def engine(live_server: ServerProcess) -> AsyncIterator[AsyncEngine]:
    """The server's own database, opened in the test too (after the server migrated it)."""
    engine = create_engine(Settings(database_url=live_server.database_url))
    yield engine
    await engine.dispose()


async def _trash(api: Api) -> list[Json]:
    response = await api.http.get("/api/trash")
    assert response.status_code == 200, response.text
    return list(response.json())


async def _log_kinds(api: Api, document_id: str) -> list[str]:
    response = await api.http.get(f"/api/documents/{document_id}/log")
    assert response.status_code == 200, response.text
    return [e["kind"] for e in response.json()["events"]]


async def _rows(engine: AsyncEngine, document_id: str) -> tuple[int, int]:
    """How many document rows and update-log rows the database holds for the document."""
    async with engine.connect() as conn:
        documents = await conn.scalar(select(func.count()).select_from(models.Document)
                                      .where(models.Document.id == document_id))
        updates = await conn.scalar(select(func.count()).select_from(doc_updates)
                                    .where(doc_updates.c.document_id == document_id))
    return int(documents or 0), int(updates or 0)


async def test_a_deleted_document_is_gone_for_members_and_only_its_owner_sees_the_trash(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor")
    base = f"/api/documents/{shared.document_id}"
    bobs = await connect(live_server, bob, shared.document_id)
    await bobs.wait_for(lambda: text_of(bobs, shared.section_a) == "alpha")

    # Only the owner deletes.
    assert (await bob.http.delete(base)).status_code == 403
    before = utcnow()
    assert (await alice.http.delete(base)).status_code == 204

    assert await bobs.wait_closed() == 4404
    assert bobs.close_reason.startswith("not-found")
    assert await shared.owner.wait_closed() == 4404
    missing = (await bob.http.get(f"/api/documents/{'0' * 36}")).json()
    for api in (alice, bob):
        response = await api.http.get(base)
        assert (response.status_code, response.json()) == (404, missing)
        assert (await api.http.get("/api/documents")).json() == []
        assert (await api.http.get(f"{base}/sections")).status_code == 404
        assert (await api.http.post(f"{base}/ticket")).status_code == 404
    assert (await bob.http.delete(f"{base}/members/{bob.user['id']}")).status_code == 404
    assert (await alice.http.delete(base)).status_code == 404  # not twice

    trash = await _trash(alice)
    assert [(d["id"], d["title"], d["members"]) for d in trash] == [
        (shared.document_id, "Report", 1)]
    deleted_at = datetime.fromisoformat(trash[0]["deleted_at"])
    assert before - timedelta(seconds=5) <= deleted_at <= utcnow() + timedelta(seconds=5)
    assert datetime.fromisoformat(trash[0]["purge_at"]) == deleted_at + DAYS_30
    # The member sees nothing of it, not even in a trash; nor can they restore it.
    assert await _trash(bob) == []
    assert (await bob.http.post(f"{base}/restore")).status_code == 404


async def test_restore_brings_back_members_grants_and_text(
    live_server: ServerProcess, alice: Api, bob: Api
) -> None:
    shared = await share(live_server, alice, bob, "editor", scoped=True)
    base = f"/api/documents/{shared.document_id}"
    assert (await alice.http.delete(base)).status_code == 204
    await shared.owner.wait_closed()

    response = await alice.http.post(f"{base}/restore")
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["role"]) == (shared.document_id, "owner")
    assert await _trash(alice) == []
    assert (await alice.http.post(f"{base}/restore")).status_code == 409  # not in the trash
    assert (await bob.http.post(f"{base}/restore")).status_code == 403  # a member's answer

    document = (await bob.http.get(base)).json()
    section_a = shared.section_a.removeprefix("section:")
    assert (document["role"], document["sections"]) == ("editor", [section_a])
    bobs = await connect(live_server, bob, shared.document_id)
    await bobs.wait_for(lambda: text_of(bobs, shared.section_b) == "bravo")
    await append(bobs, shared.section_a, "!")  # still writes its section
    owners = await connect(live_server, alice, shared.document_id)
    await owners.wait_for(lambda: text_of(owners, shared.section_a) == "alpha!")
    assert (await _log_kinds(bob, shared.document_id))[-2:] == ["deleted", "restored"]
    await bobs.close()
    await owners.close()


async def test_invitations_wait_in_the_trash_with_their_document(
    make_api: Callable[[], Api], alice: Api
) -> None:
    carol = await make_api().sign_up("Carol")
    document_id = await alice.create_document("Plans")
    response = await alice.http.post(f"/api/documents/{document_id}/invitations", json={
        "email": carol.user["email"], "role": "viewer", "reason": "review"})
    assert response.status_code == 201, response.text
    invitation_id = response.json()["id"]

    assert (await alice.http.delete(f"/api/documents/{document_id}")).status_code == 204
    accept = f"/api/invitations/{invitation_id}/accept"
    link = by_link(response.json())
    assert (await carol.http.post(accept, json=link)).status_code == 404

    assert (await alice.http.post(f"/api/documents/{document_id}/restore")).status_code == 200
    waiting = await alice.http.get(f"/api/documents/{document_id}/invitations")
    assert [i["id"] for i in waiting.json() if i["status"] == "pending"] == [invitation_id]
    assert (await carol.http.post(accept, json=link)).status_code == 200


async def test_leaving_and_transfer_around_the_trash(
    live_server: ServerProcess, make_api: Callable[[], Api], alice: Api, bob: Api
) -> None:
    """Membership as it was at the delete: whoever left before stays gone; after a transfer
    the trash is the new owner's; nobody leaves or transfers a deleted document."""
    carol = await make_api().sign_up("Carol")
    shared = await share(live_server, alice, bob, "editor")
    base = f"/api/documents/{shared.document_id}"
    invited = await alice.http.post(f"{base}/invitations", json={
        "email": carol.user["email"], "role": "viewer", "reason": "review"})
    assert (await carol.http.post(f"/api/invitations/{invited.json()['id']}/accept",
                                  json=by_link(invited.json()))).status_code == 200
    carols = await connect(live_server, carol, shared.document_id)
    assert (await carol.http.delete(f"{base}/members/{carol.user['id']}")).status_code == 204
    assert await carols.wait_closed() == 4403
    assert carols.close_reason.startswith("revoked")

    response = await alice.http.post(f"{base}/transfer", json={"user_id": bob.user["id"]})
    assert response.status_code == 200, response.text
    # The old owner, now an editor, may leave; the new owner may not, nor delete for them.
    assert (await bob.http.delete(f"{base}/members/{bob.user['id']}")).status_code == 409
    assert (await alice.http.delete(base)).status_code == 403
    assert (await bob.http.delete(base)).status_code == 204

    assert (await alice.http.delete(f"{base}/members/{alice.user['id']}")).status_code == 404
    assert (await bob.http.post(f"{base}/transfer", json={"user_id": alice.user["id"]})
            ).status_code == 404
    assert await _trash(alice) == []
    assert [d["id"] for d in await _trash(bob)] == [shared.document_id]
    assert (await alice.http.post(f"{base}/restore")).status_code == 404

    assert (await bob.http.post(f"{base}/restore")).status_code == 200
    members = (await bob.http.get(f"{base}/members")).json()
    assert sorted((m["user"]["id"], m["role"]) for m in members) == sorted(
        [(bob.user["id"], "owner"), (alice.user["id"], "editor")])
    assert (await carol.http.get(base)).status_code == 404


async def test_concurrent_deletes_and_restores_each_take_effect_once(
    alice: Api, bob: Api
) -> None:
    document_id = await alice.create_document("Raced")
    base = f"/api/documents/{document_id}"
    deletes = await asyncio.gather(*(alice.http.delete(base) for _ in range(6)))
    assert sorted(r.status_code for r in deletes) == [204] + [404] * 5
    restores = await asyncio.gather(*(alice.http.post(f"{base}/restore") for _ in range(6)))
    assert sorted(r.status_code for r in restores) == [200] + [409] * 5, [
        r.text for r in restores]
    assert await _log_kinds(alice, document_id) == ["created", "deleted", "restored"]

    # Deleting and restoring at once: whichever runs first, the outcome is one of the two
    # orders, never a restore of a document that was not deleted yet.
    mixed = await asyncio.gather(alice.http.delete(base), alice.http.post(f"{base}/restore"),
                                 alice.http.post(f"{base}/restore"))
    assert mixed[0].status_code == 204
    restored = sum(r.status_code == 200 for r in mixed[1:])
    assert restored <= 1 and all(r.status_code in (200, 409) for r in mixed[1:])
    in_trash = [d["id"] for d in await _trash(alice)] == [document_id]
    assert in_trash == (restored == 0)
    if not in_trash:
        assert (await _log_kinds(alice, document_id))[-2:] == ["deleted", "restored"]


async def test_the_purge_deletes_for_good_what_the_trash_period_left_behind(
    start_server: Callable[..., ServerProcess], database_url: str
) -> None:
    # A server of its own: the purge takes whatever anyone left in the trash.
    live_server = start_server()
    async with Api(live_server.base_url) as alice:
        await alice.sign_up("Alice")
        engine = create_engine(Settings(database_url=database_url))
        try:
            await _purge_for_good(live_server, alice, engine)
        finally:
            await engine.dispose()


async def _purge_for_good(live_server: ServerProcess, alice: Api, engine: AsyncEngine) -> None:
    kept = await alice.create_document("Kept")
    gone = await alice.create_document("Gone")
    client = await connect(live_server, alice, gone)
    await append(client, "section:x", "text that goes")
    await client.close()
    for document_id in (kept, gone):
        assert (await alice.http.delete(f"/api/documents/{document_id}")).status_code == 204
    assert (await alice.http.post(f"/api/documents/{kept}/restore")).status_code == 200
    assert (await _rows(engine, gone))[1] > 0

    sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    store = UpdateLog(engine, compaction_threshold=1000)
    # A day before the period ends nothing goes; once it has ended, the trashed one does.
    assert await purge_expired(sessions, store, now=utcnow() + timedelta(days=29),
                               keep=DAYS_30) == []
    assert await purge_expired(sessions, store, now=utcnow() + timedelta(days=31),
                               keep=DAYS_30) == [gone]
    assert await _rows(engine, gone) == (0, 0)
    assert await _rows(engine, kept) == (1, 0)
    assert (await alice.http.post(f"/api/documents/{gone}/restore")).status_code == 404
    assert await _trash(alice) == []
    assert (await alice.http.get(f"/api/documents/{kept}")).status_code == 200


async def test_past_its_period_a_document_cannot_be_restored_and_the_server_purges_it(
    start_server: Callable[..., ServerProcess], database_url: str
) -> None:
    server = start_server(trash_days=str(3 / 86400), trash_purge_interval_seconds="0.2")
    alice = await Api(server.base_url).sign_up("Alice")
    engine = create_engine(Settings(database_url=database_url))
    try:
        document_id = await alice.create_document("Short-lived")
        assert (await alice.http.delete(f"/api/documents/{document_id}")).status_code == 204
        assert [d["id"] for d in await _trash(alice)] == [document_id]
        deadline = time.monotonic() + 20
        while (await _rows(engine, document_id))[0] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await _rows(engine, document_id) == (0, 0)
        assert (await alice.http.post(f"/api/documents/{document_id}/restore")
                ).status_code == 404
        assert await _trash(alice) == []
        assert "trash.purged" in server.logs()
    finally:
        await alice.aclose()
        await engine.dispose()


async def test_the_app_learns_how_long_the_trash_keeps_a_document(
    start_server: Callable[..., ServerProcess]
) -> None:
    """The page's "move to the trash?" question names the period the server keeps."""
    server = start_server(trash_days="7")
    carol = await Api(server.base_url).sign_up("Carol")
    assert (await carol.http.get("/api/me")).json()["trash_days"] == 7
    await carol.aclose()
