"""Migration 0006 on a real database: comments that lived in the Y.Doc root map `comments`, as
the old browser app wrote them, become server records, and the map leaves what syncs.

Authorship comes from the update rows the server stored (the user whose connection wrote the
row), not from what the client wrote in the entry; for content already compacted into a
snapshot, the written author counts only if that user is a member. Malformed entries are
skipped and logged, including one whose field would crash the engine when read.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from pycrdt import Array, Doc, Map, XmlElement, XmlFragment, XmlText
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.legacy_comments import LegacyReader, StoredRow
from app.migrate import alembic_config, upgrade
from crdt.schema import KIND_SNAPSHOT, KIND_UPDATE, doc_updates
from tests.support.api import PASSWORD, Api
from tests.support.server import ServerProcess
from tests.support.yclient import YClient

MIGRATION = "0006_comment_records"
ANCHOR = base64.b64encode(bytes([0, 0x81, 0x01, 0, 0])).decode()
HEAD = base64.b64encode(bytes([0, 0x81, 0x01, 5, 0])).decode()
# An Any nested this deep decodes, but turning it into Python overflows the engine's stack.
CRASHING_DEPTH = 25_000


def _previous_revision(database_url: str) -> str:
    """The revision before this one, whatever the merge re-chained it to."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    down = script.get_revision(MIGRATION).down_revision
    assert isinstance(down, str)
    return down


def _thread(section: str, author: dict[str, str], body: str, **extra: Any) -> Map[Any]:
    """A thread exactly as the old `frontend/src/comments.ts` wrote it."""
    fields: dict[str, Any] = {
        "section": section, "anchor": ANCHOR, "head": HEAD, "quote": "quick",
        "author": author, "body": body, "status": "open", "replies": Array([]),
        "createdAt": 1_700_000_000_000,
    }
    fields.update(extra)
    return Map(fields)


def _deep(update: bytes, marker: str) -> bytes:
    """Replace the one-element array `[marker]` in `update` by one nested CRASHING_DEPTH deep
    (lib0 encodes an array as 0x75 + length, a string as 0x77 + length + bytes)."""
    plain = bytes([0x75, 0x01, 0x77, len(marker)]) + marker.encode()
    assert update.count(plain) == 1
    nested = bytes([0x75, 0x01]) * CRASHING_DEPTH + bytes([0x77, len(marker)]) + marker.encode()
    return update.replace(plain, nested)


class OldClient:
    """Writes the way the old app did, one stored row per step, with the server's origin."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self.rows: list[tuple[str | None, int, bytes]] = []

    @property
    def comments(self) -> Map[Any]:
        comments: Map[Any] = self.doc.get("comments", type=Map)
        return comments

    def step(self, origin: str | None, change: Callable[[Doc[Any]], object]) -> bytes:
        before = self.doc.get_state()
        with self.doc.transaction():
            change(self.doc)
        update = self.doc.get_update(before)
        self.rows.append((origin, KIND_UPDATE, update))
        return update


@pytest.mark.empty_database
async def test_old_comments_map_becomes_records_and_leaves_the_doc(
    database_url: str, start_server: Callable[..., ServerProcess],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await asyncio.to_thread(upgrade_to, database_url, _previous_revision(database_url))
    ada, rex, ed, gone_member, vi = (str(uuid.uuid4()) for _ in range(5))
    document_id, untouched_id = str(uuid.uuid4()), str(uuid.uuid4())
    intro, body, deleted_section = (str(uuid.uuid4()) for _ in range(3))
    now = datetime.now(UTC).replace(tzinfo=None)
    ms = int(time.time() * 1000)

    old = OldClient()
    # Compacted history: the section's text and a thread, as one snapshot without an origin.
    def start(d: Doc[Any]) -> None:
        paragraph = d.get(f"section:{intro}", type=XmlFragment).children.append(
            XmlElement("paragraph"))
        paragraph.children.append(XmlText("A quick engine"))
        thread = _thread(intro, {"id": rex, "name": "Rex"}, "Old note", status="resolved",
                         decidedBy={"id": ada, "name": "Ada"}, decidedAt=1_700_000_100_000)
        d.get("comments", type=Map)["c-old"] = thread
        thread["replies"].append({"id": "r0", "author": {"id": gone_member, "name": "X"},
                                  "body": "old reply", "createdAt": 1_700_000_050_000})
        # A viewer could never write the map: an entry naming one was written by someone else.
        d.get("comments", type=Map)["c-viewer"] = _thread(
            body, {"id": vi, "name": "Vi"}, "Signed by a viewer")
    old.step(None, start)
    old.rows[0] = (None, KIND_SNAPSHOT, old.doc.get_update())
    # Rex suggests a change, signing it with Ada's name.
    old.step(rex, lambda d: d.get("comments", type=Map).__setitem__("c-forged", _thread(
        intro, {"id": ada, "name": "Ada"}, "Shorter", suggestion="fast", createdAt=1)))
    # Ada replies and accepts it.
    def ada_decides(d: Doc[Any]) -> None:
        thread = d.get("comments", type=Map)["c-forged"]
        thread["replies"].append({"id": "r1", "author": {"id": ada, "name": "Ada"},
                                  "body": "Good idea", "createdAt": 2})
        thread["status"] = "accepted"
        thread["decidedBy"] = {"id": ada, "name": "Ada"}
    old.step(ada, ada_decides)
    # Rex comments, then resolves it claiming Ada did.
    old.step(rex, lambda d: d.get("comments", type=Map).__setitem__(
        "c-plain", _thread(body, {"id": rex, "name": "Rex"}, "Which tables?")))
    def rex_resolves(d: Doc[Any]) -> None:
        thread = d.get("comments", type=Map)["c-plain"]
        thread["status"] = "resolved"
        thread["decidedBy"] = {"id": ada, "name": "Ada"}
    old.step(rex, rex_resolves)
    # The scoped editor writes malformed entries, one that crashes the engine when read.
    def junk(d: Doc[Any]) -> None:
        comments = d.get("comments", type=Map)
        comments["junk"] = "not a thread"
        comments["no-section"] = Map({"body": "where?"})
        comments["gone"] = _thread(deleted_section, {"id": ed, "name": "Ed"}, "on a lost section")
        comments["deep"] = _thread(intro, {"id": ed, "name": "Ed"}, ["DEEP"])  # type: ignore[arg-type]
    update = old.step(ed, junk)
    old.rows[-1] = (ed, KIND_UPDATE, _deep(update, "DEEP"))

    password_hash = await asyncio.to_thread(PasswordHasher().hash, PASSWORD)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            for user_id, name in ((ada, "Ada"), (rex, "Rex"), (ed, "Ed"), (gone_member, "X"),
                                  (vi, "Vi")):
                await conn.execute(text(
                    "INSERT INTO users (id, email, name, password_hash, created_at) "
                    "VALUES (:id, :email, :name, :hash, :at)"),
                    {"id": user_id, "email": f"{name.lower()}-{user_id[:8]}@example.org",
                     "name": name, "hash": password_hash, "at": now})
            for doc_id in (document_id, untouched_id):
                await conn.execute(text(
                    "INSERT INTO documents (id, owner_id, title, created_at, updated_at) "
                    "VALUES (:id, :owner, 'Press release', :at, :at)"),
                    {"id": doc_id, "owner": ada, "at": now})
            for position, section_id in enumerate((intro, body), start=1):
                await conn.execute(text(
                    "INSERT INTO sections (id, document_id, title, position, status, "
                    "created_at, updated_at) VALUES (:id, :doc, :title, :pos, 'draft', :at, :at)"),
                    {"id": section_id, "doc": document_id, "title": f"S{position}",
                     "pos": position, "at": now})
            scoped = f'["{intro}"]'
            for user_id, role, sections in ((rex, "reviewer", None), (ed, "editor", scoped),
                                            (vi, "viewer", None)):
                await conn.execute(text(
                    "INSERT INTO grants (id, document_id, user_id, role, sections, created_at, "
                    "updated_at) VALUES (:id, :doc, :user, :role, :sections, :at, :at)"),
                    {"id": str(uuid.uuid4()), "doc": document_id, "user": user_id, "role": role,
                     "sections": sections, "at": now})
            await conn.execute(insert(doc_updates), [
                {"document_id": document_id, "origin": origin, "kind": kind,
                 "created_at": ms + i, "data": data}
                for i, (origin, kind, data) in enumerate(old.rows)])
            plain: Doc[Any] = Doc()
            plain.get("section:x", type=XmlFragment).children.append(XmlText("no comments"))
            await conn.execute(insert(doc_updates).values(
                document_id=untouched_id, origin=ada, kind=KIND_UPDATE, created_at=ms,
                data=plain.get_update()))

        with caplog.at_level(logging.WARNING, logger="widen.migrations"):
            await asyncio.to_thread(upgrade, database_url)

        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(doc_updates.c.document_id).order_by(doc_updates.c.id))).scalars().all()
        # One row appended, to the document that had comments: the map's retirement.
        assert rows.count(document_id) == len(old.rows) + 1
        assert rows.count(untouched_id) == 1
    finally:
        await engine.dispose()

    # Through the API of a server on the migrated database, as the owner sees them.
    server = start_server()
    api = Api(server.base_url)
    try:
        email = f"ada-{ada[:8]}@example.org"
        login = await api.http.post("/api/auth/login", json={"email": email,
                                                             "password": PASSWORD})
        assert login.status_code == 200, login.text
        api.http.headers["Authorization"] = f"Bearer {login.json()['token']}"
        response = await api.http.get(f"/api/documents/{document_id}/comments")
        assert response.status_code == 200, response.text
        records = response.json()
        threads = {c["body"]: c for c in records if c["parent_id"] is None}
        replies = {c["body"]: c for c in records if c["parent_id"] is not None}
        assert set(threads) == {"Old note", "Shorter", "Which tables?", "Signed by a viewer"}
        assert threads["Signed by a viewer"]["author"] is None
        assert set(replies) == {"old reply", "Good idea"}

        old_note = threads["Old note"]
        assert old_note["author"]["id"] == rex  # snapshot: the written author, a member
        assert old_note["status"] == "resolved" and old_note["decided_by"]["id"] == ada
        assert old_note["created_at"].startswith("2023-11-14")
        assert old_note["anchor"] == {"start": ANCHOR, "end": HEAD}
        assert old_note["section_id"] == intro and old_note["quote"] == "quick"
        assert replies["old reply"]["author"] is None  # written by someone no longer a member
        assert replies["old reply"]["parent_id"] == old_note["id"]

        forged = threads["Shorter"]
        assert forged["author"]["id"] == rex  # who wrote the row, not who the entry claimed
        assert forged["suggestion"] == "fast" and forged["status"] == "accepted"
        assert forged["decided_by"]["id"] == ada
        assert forged["created_at"] > "2024"  # the row's time, not the client's `1`
        assert replies["Good idea"]["author"]["id"] == ada
        assert replies["Good idea"]["parent_id"] == forged["id"]

        resolved = threads["Which tables?"]
        assert resolved["section_id"] == body and resolved["status"] == "resolved"
        assert resolved["decided_by"]["id"] == rex  # the claimed "Ada" was Rex

        # The map is empty for everyone who syncs; the text is untouched.
        ticket = (await api.http.post(f"/api/documents/{document_id}/ticket")).json()["ticket"]
        client = await YClient(f"{server.ws_url}/{document_id}?ticket={ticket}").connect_synced()
        try:
            assert list(client.doc.get("comments", type=Map).keys()) == []
            assert str(client.doc.get(f"section:{intro}", type=XmlFragment)) == (
                "<paragraph>A quick engine</paragraph>")
        finally:
            await client.close()
    finally:
        await api.aclose()
    # Each skipped entry is named in the log, with why.
    skipped = {getattr(r, "entry", None): getattr(r, "why", "") for r in caplog.records
               if getattr(r, "event", "") == "migration.comment_skipped"}
    assert skipped == {"junk": "not a thread (a Y.Map)", "no-section": "no section",
                       "gone": "its section is gone",
                       "deep": "the engine crashed reading it"}, skipped
    # The entry that crashed the reading process cost one restart, and nothing else.
    crashes = [getattr(r, "entry", None) for r in caplog.records
               if getattr(r, "event", "") == "migration.comment_reader_crashed"]
    assert crashes == ["deep"]


def upgrade_to(database_url: str, revision: str) -> None:
    command.upgrade(alembic_config(database_url), revision)


def test_a_document_the_engine_cannot_load_is_reported_and_left_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nesting deep enough that applying the row itself overflows the engine's stack: the
    reading process dies loading it, the migration goes on without touching the document."""
    old = OldClient()
    update = old.step("someone", lambda d: d.get("comments", type=Map).__setitem__(
        "c1", _thread("s1", {"id": "someone", "name": "S"}, ["DEEP"])))  # type: ignore[arg-type]
    crashing = update.replace(bytes([0x75, 0x01, 0x77, 4]) + b"DEEP",
                              bytes([0x75, 0x01]) * 200_000 + bytes([0x77, 4]) + b"DEEP")
    healthy = OldClient()
    healthy.step("someone", lambda d: d.get("comments", type=Map).__setitem__(
        "c2", _thread("s1", {"id": "someone", "name": "S"}, "fine")))
    with caplog.at_level(logging.WARNING, logger="widen.migrations"), LegacyReader() as reader:
        broken = reader.read([StoredRow("someone", False, 1, crashing)], "broken")
        reading = reader.read([StoredRow("someone", False, 1, healthy.rows[0][2])], "ok")
    assert broken.failure == "the document could not be loaded"
    assert broken.threads == [] and broken.retire is None
    # The next document is read by a fresh process.
    assert [t.body for t in reading.threads] == ["fine"] and reading.failure is None
    assert reading.retire is not None
    stages = [getattr(r, "stage", None) for r in caplog.records
              if getattr(r, "event", "") == "migration.comment_reader_crashed"]
    assert stages == ["loading"]
