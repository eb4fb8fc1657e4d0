"""Recording versions and reading them back.

A version stores what the live document gained since the previous version's state vector
(`crdt.updates.update_since`): content still alive that the previous version lacked, and the
deletions since. Deletes only grow, so the document of version k is a fresh Doc applying the
versions up to k in order, and text typed and deleted between two versions is never stored.
A version stores the whole state instead once the updates since the last whole one outweigh
`FULL_AFTER` times the document (or number `FULL_AFTER_ROWS`), so opening one applies a
bounded amount, and whole states cost at most 1/`FULL_AFTER` of the updates; a version that
points at a section archive (the whole state kept when a section was deleted) counts as whole.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.locks import lock_document
from app.models import DocumentVersion, VersionKind
from crdt.updates import decode_state_vector, delete_set, update_since

FULL_AFTER = 4
FULL_AFTER_ROWS = 512
# An update with no struct and an empty delete set.
_NOTHING = b"\x00\x00"


async def record(session: AsyncSession, document_id: str, doc: Doc[Any], *,
                 kind: VersionKind, name: str | None = None, created_by: str | None = None,
                 editors: set[str] | frozenset[str] = frozenset(),
                 deleting: models.Section | None = None) -> DocumentVersion:
    """Store the live `doc` as the document's next version, in the caller's transaction.

    Versions of one document are numbered one after the other under the document's lock,
    and the update is taken from `doc` only once the lock is held, so it is relative to
    exactly the version before it. With `deleting` (a section about to be deleted), the
    whole state goes into that section's archive, which the version points at."""
    await lock_document(session, document_id)
    last = await session.scalar(
        select(DocumentVersion).where(DocumentVersion.document_id == document_id)
        .order_by(DocumentVersion.number.desc()).limit(1))
    number = 1 if last is None else last.number + 1
    state = doc.get_update()
    deleted = delete_set(doc, state)
    sections = await _sections(session, document_id)
    since = (update_since(doc, last.state_vector, deleted, last.delete_set)
             if last is not None and deleting is None else None)
    if (kind is VersionKind.AUTO and last is not None and last.kind == VersionKind.AUTO.value
            and since == _NOTHING and last.sections == sections
            and decode_state_vector(doc.get_state()) == decode_state_vector(last.state_vector)):
        # Nothing new since the last checkpoint: with a document's editors on several
        # processes, each process checkpoints their edits, the first one every edit it had
        # received by then. Its editors join that version's, rather than a version that
        # changes nothing credited to them alone.
        last.editors = sorted(set(last.editors) | set(editors))
        return last
    data: bytes | None = None
    archive: models.SectionArchive | None = None
    chain_rows = chain_bytes = 0
    if deleting is not None:
        archive = models.SectionArchive(section_id=deleting.id, document_id=document_id,
                                        deleted_by=created_by, content=state)
        session.add(archive)
        await session.flush()
    elif last is not None and since is not None:
        data = since
        chain_rows, chain_bytes = last.chain_rows + 1, last.chain_bytes + len(since)
    full = deleting is None and (last is None or chain_bytes > FULL_AFTER * len(state)
                                 or chain_rows >= FULL_AFTER_ROWS)
    if full:
        data, chain_rows, chain_bytes = state, 0, 0
    if last is not None:
        last.delete_set = None
    version = DocumentVersion(
        document_id=document_id, number=number, kind=kind.value, name=name,
        created_by=created_by, editors=sorted(editors),
        sections=sections,
        full=full, data=data, archive_id=archive.id if archive is not None else None,
        state_vector=doc.get_state(), delete_set=deleted, chain_rows=chain_rows,
        chain_bytes=chain_bytes)
    session.add(version)
    await session.flush()
    return version


async def _sections(session: AsyncSession, document_id: str) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(models.Section).where(models.Section.document_id == document_id)
        .order_by(models.Section.position, models.Section.created_at))
    return [{"id": s.id, "title": s.title, "position": s.position,
             "deleted": s.deleted_at is not None} for s in rows]


async def find(session: AsyncSession, document_id: str,
               version_id: str) -> DocumentVersion | None:
    version = await session.get(DocumentVersion, version_id)
    return version if version is not None and version.document_id == document_id else None


async def listing(session: AsyncSession, document_id: str) -> list[DocumentVersion]:
    """The document's versions, newest first."""
    return list(await session.scalars(
        select(DocumentVersion).where(DocumentVersion.document_id == document_id)
        .order_by(DocumentVersion.number.desc())))


async def rows(session: AsyncSession, version: DocumentVersion) -> list[bytes]:
    """The encoded rows whose application, in order, makes `version`'s document."""
    anchor = await session.scalar(
        select(func.max(DocumentVersion.number)).where(
            DocumentVersion.document_id == version.document_id,
            DocumentVersion.number <= version.number,
            DocumentVersion.full | DocumentVersion.archive_id.is_not(None)))
    result = await session.execute(
        select(DocumentVersion.data, models.SectionArchive.content)
        .outerjoin(models.SectionArchive,
                   models.SectionArchive.id == DocumentVersion.archive_id)
        .where(DocumentVersion.document_id == version.document_id,
               DocumentVersion.number >= (anchor or 1),
               DocumentVersion.number <= version.number)
        .order_by(DocumentVersion.number))
    encoded: list[bytes] = []
    for data, archived in result:
        encoded.append(data if data is not None else archived)
    return encoded


async def previous(session: AsyncSession, version: DocumentVersion) -> DocumentVersion | None:
    return await session.scalar(
        select(DocumentVersion).where(DocumentVersion.document_id == version.document_id,
                                      DocumentVersion.number < version.number)
        .order_by(DocumentVersion.number.desc()).limit(1))
