"""History's storage, in process on a real SQLite file (the fast tier): every version, rebuilt
from the rows it is stored as, is exactly the document it recorded, through deletions, whole
states and section archives; and the versions together stay near the document's own size."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Doc, Text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import models
from app.db import create_sessionmaker
from app.history import reading, storage
from app.models import DocumentVersion, VersionKind
from tests.support.rows import owned_document


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    yield create_sessionmaker(engine)


async def _document(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, models.Section]:
    async with sessions() as session, session.begin():
        document = await owned_document(session, "History")
        section = models.Section(document_id=document.id, title="A", position=1)
        session.add(section)
        await session.flush()
        return document.id, section


def _edit(text: Text, rng: random.Random) -> None:
    """A burst of typing and deleting, as a writer between two checkpoints."""
    for _ in range(40):
        if len(text) > 20 and rng.random() < 0.4:
            start = rng.randrange(len(text) - 10)
            del text[start:start + rng.randrange(1, 10)]
        else:
            text.insert(rng.randrange(len(text) + 1), rng.choice(["word ", "other ", "x"]))


async def test_every_version_rebuilds_to_what_it_recorded(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whole states every few versions, so the rebuild crosses them.
    monkeypatch.setattr(storage, "FULL_AFTER_ROWS", 5)
    document_id, section = await _document(sessions)
    doc: Doc[Any] = Doc()
    text = doc.get("notes", type=Text)
    rng = random.Random(7)
    expected: dict[str, str] = {}
    for step in range(23):
        with doc.transaction():
            _edit(text, rng)
        async with sessions() as session, session.begin():
            deleting = section if step == 11 else None  # one version is a section archive
            version = await storage.record(
                session, document_id, doc,
                kind=VersionKind.DELETION if deleting else VersionKind.AUTO, deleting=deleting)
            expected[version.id] = str(text)

    async with sessions() as session:
        versions = list(await session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)))
        assert sum(v.full for v in versions) == 5  # numbers 1, 6, 11, 17, 22 (13: archive)
        assert sum(v.delete_set is not None for v in versions) == 1  # the newest only
        for version in versions:
            rebuilt = reading.build(await storage.rows(session, version))
            assert str(rebuilt.get("notes", type=Text)) == expected[version.id], version.number


async def test_versions_store_the_deletions_since_the_previous_one_only(
    sessions: async_sessionmaker[AsyncSession]
) -> None:
    document_id, _ = await _document(sessions)
    doc: Doc[Any] = Doc()
    text = doc.get("notes", type=Text)
    text.insert(0, "".join(f"word{i} " for i in range(2000)))
    stored = 0
    for i in range(200):
        # Every step deletes a little more: the delete set grows with every version.
        with doc.transaction():
            del text[i * 3:i * 3 + 2]
            text.insert(0, "n")
        async with sessions() as session, session.begin():
            version = await storage.record(session, document_id, doc, kind=VersionKind.AUTO)
            stored += len(version.data or b"")
    own = len(doc.get_update())
    # The first version is whole; each later one holds a character and two deletions.
    assert stored < 2 * own, (stored, own)


async def test_a_checkpoint_of_nothing_new_credits_its_editors_on_the_last_one(
    sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Two processes checkpoint one document's edits, each crediting its own clients' editors;
    the second finds everything in the first's version (as when pub/sub had brought it all)."""
    document_id, _ = await _document(sessions)
    doc: Doc[Any] = Doc()
    text = doc.get("notes", type=Text)
    text.insert(0, "written on two processes")
    del text[0:8]

    async def record(kind: VersionKind, editors: set[str], same: Doc[Any]) -> DocumentVersion:
        async with sessions() as session, session.begin():
            return await storage.record(session, document_id, same, kind=kind,
                                        editors=editors)

    first = await record(VersionKind.AUTO, {"alice"}, doc)
    # The other process's copy: the same state, reached by its own way.
    other: Doc[Any] = Doc()
    other.apply_update(doc.get_update())
    assert (await record(VersionKind.AUTO, {"bob"}, other)).id == first.id
    text.insert(0, "more ")
    second = await record(VersionKind.AUTO, {"carol"}, doc)
    # A named version of nothing new is still a version: someone asked for it.
    named = await record(VersionKind.NAMED, set(), doc)
    async with sessions() as session:
        versions = (await session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)
            .order_by(DocumentVersion.number))).all()
    assert [(v.id, v.editors) for v in versions] == [
        (first.id, ["alice", "bob"]), (second.id, ["carol"]), (named.id, [])]
