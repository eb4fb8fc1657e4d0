"""Deleted sections (DESIGN §3): the row is kept aside and its text leaves the document.

Deleting marks the row and stores a copy of the document as it is, in one transaction; once
that has committed, the section's root is emptied in the live document (so the text leaves
what every client syncs) and retired (nobody, whole-document editors included, may write it
again: an offline client's resync would otherwise bring the text back to everyone). A crash
between the two is repaired when the document next loads: retired roots are emptied then.
The copy is also a version of the document's history (`app.history`), which is how the
section comes back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import models
from app.history.checkpointer import Checkpointer
from app.models import DocumentVersion, VersionKind
from app.permissions import COMMENTS_ROOT, section_root
from app.timeutil import utcnow
from crdt.batching import Batched
from crdt.rooms import Rooms

# Documents one query asks about at most (each is one bound parameter).
_READ_BATCH = 256


def retired_roots_reader(
        sessions: async_sessionmaker[AsyncSession]) -> Batched[str, frozenset[str]]:
    """What a document's room refuses to let anyone write: its deleted sections' roots, and
    the `comments` map that comments lived in before they became server records. Rooms
    loading at once (a reconnect storm) ask together, in one query (`crdt.batching`)."""
    async def read(document_ids: Sequence[str]) -> list[frozenset[str]]:
        deleted: dict[str, set[str]] = defaultdict(set)
        async with sessions() as session:
            for document_id, section_id in await session.execute(
                    select(models.Section.document_id, models.Section.id).where(
                        models.Section.document_id.in_(set(document_ids)),
                        models.Section.deleted_at.is_not(None))):
                deleted[document_id].add(section_root(section_id))
        return [frozenset({COMMENTS_ROOT, *deleted[document_id]})
                for document_id in document_ids]

    return Batched(read, batch=_READ_BATCH, name="widen-retired-roots")


async def delete_section(session: AsyncSession, rooms: Rooms, history: Checkpointer,
                         section: models.Section, user_id: str) -> DocumentVersion:
    """Keep the document's current state aside, as a version named after the deletion, and
    mark the section deleted, in the caller's transaction; the caller then calls
    `empty_deleted_section` and `history.count_words` once it has committed."""
    async with rooms.holding(section.document_id) as room:
        version = await history.record(
            section.document_id, room.doc, kind=VersionKind.DELETION,
            name=f"Before deleting “{section.title}”", created_by=user_id, session=session,
            deleting=section)
    section.deleted_at = utcnow()
    section.deleted_by = user_id
    await session.flush()
    return version


async def empty_deleted_section(rooms: Rooms, document_id: str, section_id: str,
                                user_id: str) -> None:
    await rooms.retire_root(document_id, section_root(section_id), user_id)
