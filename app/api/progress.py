"""Progress (DESIGN §4): what a manager follows without asking for a report or reading drafts."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from app import models
from app.api.access import require_access
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.schemas import Contributor, ProgressOut, SectionProgress, UserOut
from app.models import SectionStatus
from app.permissions import Access, accessible_documents, section_root
from app.progress import from_epoch_ms
from app.services import Services
from app.timeutil import utcnow

router = APIRouter(prefix="/api", tags=["progress"])


async def _progress(session: DbSession, services: Services, access: Access) -> ProgressOut:
    document = access.document
    sections = list(await session.scalars(
        select(models.Section).where(models.Section.document_id == document.id,
                                     models.Section.deleted_at.is_(None))
        .order_by(models.Section.position, models.Section.created_at)))
    # The store reads through this request's connection: a second one could deadlock the pool.
    conn = await session.connection()
    contributions = await services.store.contributions(document.id, conn)
    user_ids = {s.assignee_id for s in sections} | {str(c["origin"]) for c in contributions}
    users = {u.id: u for u in await session.scalars(
        select(models.User).where(models.User.id.in_([i for i in user_ids if i])))}
    words = await services.word_counts.of(document.id, [section_root(s.id) for s in sections],
                                          conn)
    today = utcnow().date()
    section_rows = [
        SectionProgress(
            id=s.id, title=s.title, status=s.status,
            assignee=UserOut.model_validate(users[s.assignee_id])
            if s.assignee_id in users else None,
            due_date=s.due_date,
            overdue=(s.due_date is not None and s.due_date < today
                     and s.status != SectionStatus.DONE),
            words=words.get(section_root(s.id), 0) if words is not None else None,
        )
        for s in sections
    ]
    contributors = sorted(
        (Contributor(user=UserOut.model_validate(users[str(c["origin"])]), edits=int(c["updates"]),
                     last_edit_at=from_epoch_ms(int(c["last_at"])))
         for c in contributions if str(c["origin"]) in users),
        key=lambda c: c.edits, reverse=True,
    )
    open_dues = [s.due_date for s in sections if s.due_date and s.status != SectionStatus.DONE]
    return ProgressOut(
        document_id=document.id, title=document.title, role=access.role.value,
        sections_total=len(sections),
        sections_done=sum(1 for s in sections if s.status == SectionStatus.DONE),
        words_total=sum(words.values()) if words is not None else None,
        next_due=min(open_dues) if open_dues else None,
        last_edit_at=max((c.last_edit_at for c in contributors), default=None),
        sections=section_rows, contributors=contributors,
    )


@router.get("/documents/{document_id}/progress", response_model=ProgressOut)
async def document_progress(document_id: str, user: CurrentUser, session: DbSession,
                            services: ServicesDep) -> ProgressOut:
    return await _progress(session, services, await require_access(session, user, document_id))


@router.get("/progress", response_model=list[ProgressOut])
async def all_progress(user: CurrentUser, session: DbSession,
                       services: ServicesDep) -> list[ProgressOut]:
    """Every document I may see progress of: mine and every one shared with me."""
    return [await _progress(session, services, access)
            for access in await accessible_documents(session, user.id)]
