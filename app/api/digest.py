"""The progress digest by mail (`app.digests`): how often I get it, and which of the
documents I follow are left out of it."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import delete, select

from app import models
from app.api.access import require_access
from app.api.deps import CurrentUser, DbSession
from app.api.schemas import DigestDocumentIn, DigestIn, DigestOut
from app.digests import subscribe
from app.timeutil import utcnow

router = APIRouter(prefix="/api/progress/digest", tags=["progress"])


async def _choices(session: DbSession, user_id: str) -> DigestOut:
    subscription = await session.get(models.DigestSubscription, user_id)
    left_out = await session.scalars(
        select(models.DigestOptOut.document_id).where(models.DigestOptOut.user_id == user_id)
        .order_by(models.DigestOptOut.document_id))
    return DigestOut(frequency=subscription.frequency if subscription else "off",  # type: ignore[arg-type]
                     left_out=list(left_out))


@router.get("", response_model=DigestOut)
async def digest_choices(user: CurrentUser, session: DbSession) -> DigestOut:
    return await _choices(session, user.id)


@router.patch("", response_model=DigestOut)
async def change_digest(body: DigestIn, user: CurrentUser, session: DbSession) -> DigestOut:
    """Daily, weekly or off. It reaches a verified address only, like every mail."""
    if body.frequency is not None:
        await subscribe(session, user.id, None if body.frequency == "off" else body.frequency,
                        utcnow())
    return await _choices(session, user.id)


@router.put("/documents/{document_id}", response_model=DigestOut)
async def include_document(document_id: str, body: DigestDocumentIn, user: CurrentUser,
                           session: DbSession) -> DigestOut:
    """Leave a document I follow out of my digest, or put it back. Asked by members only: a
    stranger learns nothing of a document id from the answer."""
    await require_access(session, user, document_id)
    left_out = await session.get(models.DigestOptOut, (user.id, document_id))
    if body.included and left_out is not None:
        await session.execute(delete(models.DigestOptOut).where(
            models.DigestOptOut.user_id == user.id,
            models.DigestOptOut.document_id == document_id))
    elif not body.included and left_out is None:
        session.add(models.DigestOptOut(user_id=user.id, document_id=document_id))
    await session.flush()
    return await _choices(session, user.id)
