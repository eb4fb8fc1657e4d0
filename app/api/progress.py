"""Progress (DESIGN §4): what a manager follows without asking for a report or reading drafts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from pydantic import TypeAdapter

from app.api.access import require_access
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.schemas import ProgressOut, ProgressSummary
from app.progress_dashboard import summaries
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
    report = await build(session, services, access, user.id, now)
    await visit(session, document_id, user.id, now, report,
                timedelta(seconds=services.settings.progress_visit_gap_seconds))
    return report


_SUMMARIES = TypeAdapter(list[ProgressSummary])


@router.get("/progress", response_model=list[ProgressSummary])
async def all_progress(user: CurrentUser, session: DbSession, services: ServicesDep) -> Response:
    """The dashboard: every document I may see progress of, mine and every one shared with
    me, from aggregates and kept counts (no document is read here: one never counted is
    counted in the background, and its pages hear when it is). Serialized here, once: for a
    thousand rows FastAPI's second validation of the models it is handed cost a third of the
    request."""
    rows = await summaries(session, user.id, utcnow(), services.settings.progress_stalled_days)
    services.progress_notices.count_soon([r.document_id for r in rows if r.words_total is None])
    return Response(_SUMMARIES.dump_json(rows), media_type="application/json")
