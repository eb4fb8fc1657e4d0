"""How a document widens: invitations, membership changes and the append-only sharing log.

Every function here runs inside the caller's transaction, so a step and its log row are
stored together or not at all. Nothing here updates or deletes a `SharingEvent`.

A step that concurrent requests could both take (answering an invitation, deciding a
request, removing a member, transferring ownership) is one conditional statement
(`UPDATE ... WHERE status = 'pending'`, `DELETE ... WHERE` it still exists): the database
re-checks the condition under the row's write lock (PostgreSQL) or the database write lock
(SQLite), so exactly one request takes the step and logs it; the others get a 409 or 404.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException, status
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, models
from app.errors import Refusal
from app.permissions import Role
from app.timeutil import utcnow

PENDING = "pending"


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
    event = models.SharingEvent(
        document_id=document_id, kind=kind, actor_id=actor_id, at=at or utcnow(),
        subject_id=subject_id, subject_email=subject_email, role=role, sections=sections,
        reason=reason, message=message, invitation_id=invitation_id,
    )
    session.add(event)
    events.stage_log_step(session, event)


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


def proves_address(user: models.User, email: str) -> bool:
    """Whether the user has shown they hold `email`: only then does what was sent to the
    address reach them without its link (DESIGN §8). Registering an address proves nothing."""
    return user.email == email and user.email_verified_at is not None


async def expire_stale_invitations(session: AsyncSession, *, email: str | None = None,
                                   document_id: str | None = None) -> None:
    """Mark pending invitations past their expiry, logging each at the moment it expired.

    Read first, so the common case (nothing expired) takes no write lock; then one
    conditional UPDATE returns exactly the invitations this transaction moved, so concurrent
    readers never log one expiry twice."""
    now = utcnow()
    query = select(models.Invitation.id).where(
        models.Invitation.status == PENDING,
        models.Invitation.expires_at.is_not(None),
        models.Invitation.expires_at <= now,
    )
    if email is not None:
        query = query.where(models.Invitation.email == email)
    if document_id is not None:
        query = query.where(models.Invitation.document_id == document_id)
    stale = list(await session.scalars(query))
    if not stale:
        return
    expired = await session.scalars(
        update(models.Invitation)
        .where(models.Invitation.id.in_(stale), models.Invitation.status == PENDING)
        .values(status="expired")
        .returning(models.Invitation)
        .execution_options(synchronize_session="fetch"))
    for invitation in expired.all():
        record_invitation_step(session, invitation, "expired", actor_id=None,
                               at=invitation.expires_at)


async def settle_invitation(session: AsyncSession, invitation: models.Invitation,
                            outcome: str) -> None:
    """A pending invitation becomes `outcome` (accepted, declined, withdrawn) exactly once;
    a request that finds it settled meanwhile gets a 409 naming what became of it."""
    settled = await session.execute(
        update(models.Invitation)
        .where(models.Invitation.id == invitation.id, models.Invitation.status == PENDING)
        .values(status=outcome, responded_at=utcnow())
        .returning(models.Invitation.id)
        .execution_options(synchronize_session="fetch"))
    if settled.first() is None:
        await session.refresh(invitation)
        raise Refusal(status.HTTP_409_CONFLICT, "already-settled",
                      f"This invitation is already {invitation.status}")


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
        raise Refusal(status.HTTP_409_CONFLICT, "is-owner", "That is the document's owner")
    if invitee is not None and await member_grant(session, document.id, invitee.id):
        raise Refusal(status.HTTP_409_CONFLICT, "already-member",
                      "Already a member: change their role instead")
    await expire_stale_invitations(session, document_id=document.id)
    already_pending = Refusal(status.HTTP_409_CONFLICT, "already-pending",
                              "An invitation to this address is already pending")
    pending = await session.scalar(select(models.Invitation.id).where(
        models.Invitation.document_id == document.id, models.Invitation.email == email,
        models.Invitation.status == PENDING))
    if pending is not None:
        raise already_pending
    invitation = models.Invitation(
        document_id=document.id, inviter_id=inviter_id, email=email, role=role,
        sections=sections, reason=reason, message=message, expires_at=expires_at,
    )
    session.add(invitation)
    try:
        await session.flush()
    except IntegrityError as exc:
        # A concurrent request invited the same address first (one pending invitation per
        # address per document is a unique index, migration 0004_http_trust).
        raise already_pending from exc
    # The log names the invitee's account only if it proved the address: until then whoever
    # registered it may not be the person invited.
    known = invitee if invitee is not None and proves_address(invitee, email) else None
    record(session, document.id, "invited", actor_id=inviter_id,
           subject_id=known.id if known else None, subject_email=email, role=role,
           sections=sections, reason=reason, message=message, invitation_id=invitation.id)
    return invitation


async def member_grant(session: AsyncSession, document_id: str,
                       user_id: str) -> models.Grant | None:
    return await session.scalar(select(models.Grant).where(
        models.Grant.document_id == document_id, models.Grant.user_id == user_id))



async def remove_grant(session: AsyncSession, document_id: str,
                       user_id: str) -> tuple[str, list[str] | None]:
    """Delete a member's grant, returning the role and sections it had; a 404 if there is
    none (never was, or a concurrent request removed it first)."""
    removed = (await session.execute(
        delete(models.Grant)
        .where(models.Grant.document_id == document_id, models.Grant.user_id == user_id)
        .returning(models.Grant.role, models.Grant.sections)
        .execution_options(synchronize_session="fetch"))).first()
    if removed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not a member of this document")
    return removed.role, removed.sections


async def transfer_owner(session: AsyncSession, document: models.Document, owner_id: str,
                         new_owner_id: str) -> None:
    """Make a member the owner and the old owner a whole-document editor. The owner changes
    only from `owner_id`, so of concurrent transfers exactly one takes effect."""
    moved = await session.execute(
        update(models.Document)
        .where(models.Document.id == document.id, models.Document.owner_id == owner_id)
        .values(owner_id=new_owner_id, updated_at=utcnow())
        .returning(models.Document.id)
        .execution_options(synchronize_session="fetch"))
    if moved.first() is None:
        raise Refusal(status.HTTP_409_CONFLICT, "conflict",
                      "The document changed owner meanwhile; reload and try again")
    await remove_grant(session, document.id, new_owner_id)
    session.add(models.Grant(document_id=document.id, user_id=owner_id, role=Role.EDITOR))
    await session.flush()


async def decide_request(session: AsyncSession, request: models.InviteRequest,
                         outcome: str) -> None:
    """A pending invite request becomes `outcome` (approved, refused) exactly once."""
    decided = await session.execute(
        update(models.InviteRequest)
        .where(models.InviteRequest.id == request.id, models.InviteRequest.status == PENDING)
        .values(status=outcome, decided_at=utcnow())
        .returning(models.InviteRequest.id)
        .execution_options(synchronize_session="fetch"))
    if decided.first() is None:
        await session.refresh(request)
        raise Refusal(status.HTTP_409_CONFLICT, "already-settled",
                      f"The request is already {request.status}")

