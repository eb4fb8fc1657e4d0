"""A converted file stored as a new private document of the importer's.

The document, its sections, its sharing-log entry and its whole content (one row of the update
log, attributed to the importer — its characters too — and written under a client id bound to
them) go in one transaction: an import that fails at any point leaves nothing behind.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.formats.convert import Imported
from app.models import SharingEventKind
from app.sharing import record
from app.timeutil import utcnow
from crdt.schema import (
    KIND_UPDATE,
    doc_attribution,
    doc_clients,
    doc_contributions,
    doc_updates,
)


async def store_import(session: AsyncSession, owner_id: str, imported: Imported) -> str:
    """Add the document in the caller's transaction; return its id."""
    document = models.Document(owner_id=owner_id, title=imported.title.strip() or "Untitled")
    session.add(document)
    await session.flush()
    record(session, document.id, SharingEventKind.CREATED, actor_id=owner_id)
    for position, row in enumerate(imported.sections, start=1):
        session.add(models.Section(id=row.id, document_id=document.id,
                                   title=row.title.strip() or "Untitled section",
                                   position=position))
    await session.flush()
    now_ms = int(utcnow().timestamp() * 1000)
    await session.execute(insert(doc_updates).values(
        document_id=document.id, origin=owner_id, kind=KIND_UPDATE, created_at=now_ms,
        data=imported.update))
    await session.execute(insert(doc_clients).values(
        document_id=document.id, client_id=imported.client_id, origin=owner_id))
    await session.execute(insert(doc_contributions).values(
        document_id=document.id, origin=owner_id, updates=1, bytes=len(imported.update),
        first_at=now_ms, last_at=now_ms))
    if imported.chars:
        await session.execute(insert(doc_attribution), [
            {"document_id": document.id, "origin": owner_id, "root": root,
             "day": utcnow().date(), "chars_inserted": chars, "chars_deleted": 0,
             "words_inserted": imported.words.get(root, 0), "words_deleted": 0,
             "updates": 1, "last_at": now_ms}
            for root, chars in imported.chars.items()])
    return document.id
