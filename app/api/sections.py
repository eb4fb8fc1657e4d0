"""Sections (DESIGN §3): the parts of a document, as metadata; each one's text lives in the
Y.Doc root `section:<id>`."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from sqlalchemy import func, select

from app import models
from app.api.access import forbid, require_access
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.schemas import SectionIn, SectionOrderIn, SectionOut, SectionPatch
from app.domain_errors import Invalid
from app.events import Change, section_change, stage
from app.locks import lock_document
from app.permissions import Access
from app.sections import delete_section as delete_section_content
from app.sections import empty_deleted_section
from app.sharing import member_grant
from app.timeutil import utcnow

router = APIRouter(prefix="/api/documents/{document_id}/sections", tags=["sections"])


async def _ordered(session: DbSession, document_id: str) -> list[models.Section]:
    return list(await session.scalars(
        select(models.Section).where(models.Section.document_id == document_id,
                                     models.Section.deleted_at.is_(None))
        .order_by(models.Section.position, models.Section.created_at)))


async def _section(session: DbSession, document_id: str, section_id: str) -> models.Section:
    section = await session.get(models.Section, section_id)
    if section is None or section.document_id != document_id or section.deleted_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Section not found")
    return section


async def _check_assignee(session: DbSession, access: Access, assignee_id: str | None) -> None:
    if assignee_id is None or assignee_id == access.document.owner_id:
        return
    if await member_grant(session, access.document.id, assignee_id) is None:
        raise Invalid("assignee_id", "not-a-member",
                      "Only the owner or a member can be assigned a section")


@router.get("", response_model=list[SectionOut])
async def list_sections(document_id: str, user: CurrentUser,
                        session: DbSession) -> list[models.Section]:
    await require_access(session, user, document_id)
    return await _ordered(session, document_id)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SectionOut)
async def create_section(document_id: str, body: SectionIn, user: CurrentUser,
                         session: DbSession, services: ServicesDep,
                         tasks: BackgroundTasks) -> models.Section:
    access = await require_access(session, user, document_id)
    if not access.can_structure_sections:
        raise forbid("Only the owner or a whole-document editor can add sections")
    await _check_assignee(session, access, body.assignee_id)
    # Concurrent additions queue here, so each reads the last position the previous stored.
    await lock_document(session, document_id)
    last = await session.scalar(select(func.max(models.Section.position))
                                .where(models.Section.document_id == document_id))
    section = models.Section(
        document_id=document_id, title=body.title.strip() or "Untitled section",
        position=(last or 0) + 1, status=body.status, assignee_id=body.assignee_id,
        due_date=body.due_date)
    session.add(section)
    await session.flush()
    # Search finds its title once the indexer has read it, after this commit.
    tasks.add_task(services.search_index.changed_soon, document_id)
    stage(session, section_change(section, "added"))
    return section


@router.patch("/{section_id}", response_model=SectionOut)
async def update_section(document_id: str, section_id: str, body: SectionPatch,
                         user: CurrentUser, session: DbSession, services: ServicesDep,
                         tasks: BackgroundTasks) -> models.Section:
    access = await require_access(session, user, document_id)
    section = await _section(session, document_id, section_id)
    changes = body.model_dump(exclude_unset=True)
    if "title" in changes and not access.can_structure_sections:
        raise forbid("Only the owner or a whole-document editor can rename sections")
    if changes.keys() - {"target_words"} and not access.can_update_section(section_id):
        raise forbid("You cannot change this section", "out-of-scope")
    if "target_words" in changes and not access.answers_for(user.id, section.assignee_id):
        raise forbid("Only the owner or the section's assignee can set its target length")
    if "assignee_id" in changes:
        await _check_assignee(session, access, body.assignee_id)
    for field, value in changes.items():
        if field == "title" and value is not None:
            value = value.strip() or section.title
        if field in ("title", "status") and value is None:
            continue
        setattr(section, field, value)
    section.updated_at = utcnow()
    if "title" in changes:
        tasks.add_task(services.search_index.changed_soon, document_id)
    stage(session, section_change(section, "updated", fields=sorted(changes)))
    return section


@router.put("/order", response_model=list[SectionOut])
async def reorder_sections(document_id: str, body: SectionOrderIn, user: CurrentUser,
                           session: DbSession) -> list[models.Section]:
    access = await require_access(session, user, document_id)
    if not access.can_structure_sections:
        raise forbid("Only the owner or a whole-document editor can reorder sections")
    await lock_document(session, document_id)
    sections = {s.id: s for s in await _ordered(session, document_id)}
    if sorted(body.section_ids) != sorted(sections):
        raise Invalid("section_ids", "not-every-section",
                      "section_ids must list every section of the document once")
    for position, section_id in enumerate(body.section_ids, start=1):
        sections[section_id].position = position
    await session.flush()
    stage(session, Change(document_id, "section",
                          {"change": "reordered", "section_ids": body.section_ids}))
    return await _ordered(session, document_id)


@router.delete("/{section_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_section(document_id: str, section_id: str, user: CurrentUser,
                         session: DbSession, services: ServicesDep,
                         tasks: BackgroundTasks) -> None:
    """The section leaves every listing and its text leaves the document; the server keeps
    a copy for the history to restore."""
    access = await require_access(session, user, document_id)
    if not access.can_structure_sections:
        raise forbid("Only the owner or a whole-document editor can delete sections")
    section = await _section(session, document_id, section_id)
    version = await delete_section_content(session, services.rooms, services.history,
                                           section, user.id)
    stage(session, section_change(section, "removed", title=section.title,
                                  deleted_by={"id": user.id, "name": user.name}))
    tasks.add_task(empty_deleted_section, services.rooms, document_id, section_id, user.id)
    tasks.add_task(services.history.count_words, version.id)
    # Search leaves the section out at once; its entry goes at the next indexing.
    tasks.add_task(services.search_index.changed_soon, document_id)
