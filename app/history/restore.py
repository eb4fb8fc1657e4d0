"""Writing a version's sections back into the live document, as one edit by the restorer.

The version's blocks of each section are read in a worker (`reading.blocks`, through
`app.formats`); the live section is emptied and the blocks written in its place as the
browser editor writes them, in one transaction on the room (`Rooms.edit`), so
every connected client receives it like any edit and the update log stores it under the
restorer's name. A section deleted since comes back: its row is un-deleted and its root
accepted again. History then records the result as a `restore` version.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, XmlFragment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.domain_errors import Forbidden, Invalid
from app.formats.to_ydoc import write_blocks
from app.history import reading, storage
from app.models import DocumentVersion, VersionKind
from app.permissions import Access, section_root
from app.services import Services
from crdt.room import empty_root


async def restore(session: AsyncSession, services: Services, access: Access, user_id: str,
                  version: DocumentVersion, section_ids: list[str] | None,
                  ) -> tuple[DocumentVersion, list[models.Section]]:
    """Restore `section_ids` of `version` (all of its sections if None), in the caller's
    transaction; return the new version and the sections that came back from deletion."""
    # A section already deleted at the version has no content there to bring back.
    known = [str(entry["id"]) for entry in version.sections if not entry["deleted"]]
    targets = known if section_ids is None else list(dict.fromkeys(section_ids))
    unknown = [sid for sid in targets if sid not in known]
    if unknown:
        raise Invalid("sections", "unknown-section",
                      "These sections are not in that version: " + ", ".join(unknown))
    rows = {s.id: s for s in await session.scalars(
        select(models.Section).where(models.Section.document_id == version.document_id,
                                     models.Section.id.in_(targets)))}
    for sid in targets:
        if not access.can_restore(sid):
            raise Forbidden("out-of-scope", "You can only restore sections you may edit")
        if sid in rows and rows[sid].deleted_at is not None \
                and not access.can_structure_sections:
            raise Forbidden("not-allowed", "Only the owner or a whole-document editor can "
                                           "bring back a deleted section")
    targets = [sid for sid in targets if sid in rows]
    roots = [section_root(sid) for sid in targets]
    blocks = await services.text_workers.run(reading.blocks,
                                             await storage.rows(session, version), roots)
    revived = [rows[sid] for sid in targets if rows[sid].deleted_at is not None]
    for section in revived:
        section.deleted_at = None
        section.deleted_by = None
    await session.flush()

    def write(doc: Doc[Any]) -> None:
        for root in roots:
            empty_root(doc, root)
            write_blocks(doc.get(root, type=XmlFragment), blocks[root])

    await services.rooms.edit(version.document_id, write, user_id,
                              reopen=frozenset(section_root(s.id) for s in revived))
    async with services.rooms.holding(version.document_id) as room:
        restored = await services.history.record(
            version.document_id, room.doc, kind=VersionKind.RESTORE,
            name=f"Restored from {label(version)}", created_by=user_id, session=session)
    return restored, revived


def label(version: DocumentVersion) -> str:
    """How a version is called in another's name."""
    if version.name:
        return f"“{version.name}”"
    return f"version {version.number} ({version.created_at:%Y-%m-%d %H:%M} UTC)"
