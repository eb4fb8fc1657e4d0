"""Progress (DESIGN §4): what a manager follows without asking for a report or reading drafts."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.access import require_access
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.schemas import ProgressOut
from app.permissions import accessible_documents
from app.progress_report import build, visit
from app.timeutil import utcnow

router = APIRouter(prefix="/api", tags=["progress"])


@router.get("/documents/{document_id}/progress", response_model=ProgressOut)
async def document_progress(document_id: str, user: CurrentUser, session: DbSession,
                            services: ServicesDep) -> ProgressOut:
    """One document's progress, with what moved since my previous visit; opening it counts as
    having looked (follow-through of a `progress` invitation)."""
    access = await require_access(session, user, document_id)
    now = utcnow()
    report = await build(session, services, access, now)
    await visit(session, document_id, user.id, now, report)
    return report


@router.get("/progress", response_model=list[ProgressOut])
async def all_progress(user: CurrentUser, session: DbSession,
                       services: ServicesDep) -> list[ProgressOut]:
    """Every document I may see progress of: mine and every one shared with me."""
    now = utcnow()
    return [await build(session, services, access, now)
            for access in await accessible_documents(session, user.id)]
