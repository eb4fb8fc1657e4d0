"""How a document widens: invitations, membership changes and the append-only sharing log.

Every function here runs inside the caller's transaction, so a step and its log row are
stored together or not at all. Nothing here updates or deletes a `SharingEvent`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.permissions import Role
from app.timeutil import utcnow


def record(
    session: AsyncSession,
    document_id: str,
    kind: str,
    *,
    actor_id: str | None,
    at: datetime | None = None,
    subject_id: str | None = None,
    subject_email: str | None = None,
    role: str | None = None,
    sections: list[str] | None = None,
    reason: str | None = None,
    message: str | None = None,
    invitation_id: str | None = None,
) -> None:
    session.add(models.SharingEvent(
        document_id=document_id, kind=kind, actor_id=actor_id, at=at or utcnow(),
        subject_id=subject_id, subject_email=subject_email, role=role, sections=sections,
        reason=reason, message=message, invitation_id=invitation_id,
    ))


def record_invitation_step(
    session: AsyncSession,
    invitation: models.Invitation,
    kind: str,
    *,
    actor_id: str | None,
    subject_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Log what happened to an invitation, carrying its role, scope and reason along."""
    record(session, invitation.document_id, kind, actor_id=actor_id, at=at,
           subject_id=subject_id, subject_email=invitation.email, role=invitation.role,
           sections=invitation.sections, reason=invitation.reason,
           invitation_id=invitation.id)


async def check_sections(
    session: AsyncSession, document_id: str, role: str, sections: list[str] | None
) -> list[str] | None:
    """Sections scope only an editor, and must be sections of this document."""
    if sections is None:
        return None
    if role != Role.EDITOR:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            "Only an editor can be limited to sections")
    if not sections:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            "List at least one section, or leave sections out for all")
    unique = sorted(set(sections))
    found = set(await session.scalars(
        select(models.Section.id).where(models.Section.document_id == document_id,
                                        models.Section.id.in_(unique),
                                        models.Section.deleted_at.is_(None))
    ))
    if missing := [s for s in unique if s not in found]:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            f"No such section in this document: {', '.join(missing)}")
    return unique


async def expire_stale_invitations(session: AsyncSession, *, email: str | None = None,
                                   document_id: str | None = None) -> None:
    """Mark pending invitations past their expiry, logging each at the moment it expired."""
    query = select(models.Invitation).where(
        models.Invitation.status == "pending",
        models.Invitation.expires_at.is_not(None),
        models.Invitation.expires_at <= utcnow(),
    )
    if email is not None:
        query = query.where(models.Invitation.email == email)
    if document_id is not None:
        query = query.where(models.Invitation.document_id == document_id)
    for invitation in await session.scalars(query):
        invitation.status = "expired"
        record_invitation_step(session, invitation, "expired", actor_id=None,
                               at=invitation.expires_at)


async def create_invitation(
    session: AsyncSession,
    document: models.Document,
    inviter_id: str,
    *,
    email: str,
    role: str,
    sections: list[str] | None,
    reason: str,
    message: str | None,
    expires_at: datetime | None,
) -> models.Invitation:
    email = email.strip().lower()
    if expires_at is not None and expires_at <= utcnow():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "expires_at is in the past")
    sections = await check_sections(session, document.id, role, sections)
    invitee = await session.scalar(select(models.User).where(models.User.email == email))
    if invitee is not None and invitee.id == document.owner_id:
        raise HTTPException(status.HTTP_409_CONFLICT, "That is the document's owner")
    if invitee is not None and await member_grant(session, document.id, invitee.id):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "Already a member: change their role instead")
    await expire_stale_invitations(session, document_id=document.id)
    pending = await session.scalar(select(models.Invitation.id).where(
        models.Invitation.document_id == document.id, models.Invitation.email == email,
        models.Invitation.status == "pending"))
    if pending is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "An invitation to this address is already pending")
    invitation = models.Invitation(
        document_id=document.id, inviter_id=inviter_id, email=email, role=role,
        sections=sections, reason=reason, message=message, expires_at=expires_at,
    )
    session.add(invitation)
    await session.flush()
    record(session, document.id, "invited", actor_id=inviter_id,
           subject_id=invitee.id if invitee else None, subject_email=email, role=role,
           sections=sections, reason=reason, message=message, invitation_id=invitation.id)
    return invitation


async def member_grant(session: AsyncSession, document_id: str,
                       user_id: str) -> models.Grant | None:
    return await session.scalar(select(models.Grant).where(
        models.Grant.document_id == document_id, models.Grant.user_id == user_id))


async def member_count(session: AsyncSession, document_id: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(models.Grant)
        .where(models.Grant.document_id == document_id))
    return int(count or 0)
