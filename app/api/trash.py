"""The trash (`app.trash`): the owner's deleted documents, and bringing one back.

Only the owner sees a document in the trash; to everyone else it does not exist, so every
route answers them the 404 of a missing document.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select

from app import models
from app.api.access import NOT_FOUND, require_owner
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.documents import document_out
from app.api.schemas import DocumentOut, TrashedDocumentOut
from app.domain_errors import NotFound
from app.models import SharingEventKind
from app.permissions import Access, Role
from app.sharing import record
from app.timeutil import utcnow
from app.trash import purge_at, take_out_of_trash, trashed_document, trashed_documents

router = APIRouter(prefix="/api", tags=["trash"])


def _keep(services: ServicesDep) -> timedelta:
    return timedelta(days=services.settings.trash_days)


@router.get("/trash", response_model=list[TrashedDocumentOut])
async def trash(user: CurrentUser, session: DbSession,
                services: ServicesDep) -> list[TrashedDocumentOut]:
    """My deleted documents, most recent first, each with when it will be purged."""
    keep = _keep(services)
    documents = await trashed_documents(session, user.id, now=utcnow(), keep=keep)
    ids = [d.id for d in documents]
    members = dict((await session.execute(
        select(models.Grant.document_id, func.count())
        .where(models.Grant.document_id.in_(ids)).group_by(models.Grant.document_id)
    )).all()) if ids else {}
    return [
        TrashedDocumentOut(
            id=d.id, title=d.title, members=members.get(d.id, 0), created_at=d.created_at,
            deleted_at=d.deleted_at, purge_at=purge_at(d.deleted_at, keep))
        for d in documents if d.deleted_at is not None
    ]


@router.post("/documents/{document_id}/restore", response_model=DocumentOut)
async def restore(document_id: str, user: CurrentUser, session: DbSession,
                  services: ServicesDep) -> DocumentOut:
    """Out of the trash, as it was: sections, text, members and their grants."""
    now, keep = utcnow(), _keep(services)
    document = await trashed_document(session, user.id, document_id, now=now, keep=keep)
    if document is None:
        # Not in my trash: a document I may see answers as any owner-only action does (403
        # for a member), then 409, for it is not deleted; anything else is missing (404) —
        # unless a delete committed between the two reads, and it is in the trash now.
        try:
            await require_owner(session, user, document_id)
        except NotFound:
            document = await trashed_document(session, user.id, document_id, now=now,
                                              keep=keep)
            if document is None:
                raise
        else:
            raise HTTPException(status.HTTP_409_CONFLICT, "The document is not in the trash")
    if not await take_out_of_trash(session, document_id, now=now, keep=keep):
        # A concurrent restore won (409), or the purge did (404).
        still_there = await session.scalar(
            select(models.Document.id).where(models.Document.id == document_id))
        if still_there is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        raise HTTPException(status.HTTP_409_CONFLICT, "The document was restored meanwhile")
    record(session, document_id, SharingEventKind.RESTORED, actor_id=user.id)
    await session.refresh(document)
    return await document_out(session, Access(document, Role.OWNER))
