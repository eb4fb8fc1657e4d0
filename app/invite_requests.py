"""An editor asks the owner to invite someone; only the owner turns the request into an
invitation (approve) or refuses it, and each request is decided exactly once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.domain_errors import Conflict, Forbidden, NotFound
from app.invitations import Sent, create_invitation, send_out
from app.models import InviteRequestStatus, SharingEventKind
from app.notifications import Kind, notify
from app.permissions import Access
from app.settings import Settings
from app.sharing import check_sections, record, settle_once

PENDING = InviteRequestStatus.PENDING


async def create_request(session: AsyncSession, settings: Settings, access: Access,
                         requester: models.User, *, email: str, role: str,
                         sections: list[str] | None, reason: str,
                         message: str | None) -> models.InviteRequest:
    """The request, logged, and in the owner's inbox (their mail, if any, is queued)."""
    if not access.can_request_invite:
        raise Forbidden("not-allowed", "Only editors can ask the owner to invite someone")
    document = access.document
    sections = await check_sections(session, document.id, role, sections)
    request = models.InviteRequest(
        document_id=document.id, requester_id=requester.id, email=email.strip().lower(),
        role=role, sections=sections, reason=reason, message=message)
    session.add(request)
    await session.flush()
    record(session, document.id, SharingEventKind.INVITE_REQUESTED, actor_id=requester.id,
           subject_email=request.email, role=request.role, sections=sections,
           reason=request.reason, message=request.message)
    owner = await session.get(models.User, document.owner_id)
    assert owner is not None
    await notify(session, settings, recipient=owner, kind=Kind.INVITE_REQUEST,
                 text=f"{requester.name} asks you to invite {request.email} to "
                      f"“{document.title}” as {request.role}",
                 path=f"#/d/{document.id}", document_id=document.id, actor_id=requester.id)
    return request


async def visible_to(session: AsyncSession, access: Access,
                     user_id: str) -> list[models.InviteRequest]:
    """The owner sees every request; an editor sees their own."""
    query = select(models.InviteRequest).where(
        models.InviteRequest.document_id == access.document.id)
    if not access.can_manage:
        query = query.where(models.InviteRequest.requester_id == user_id)
    return list(await session.scalars(query.order_by(models.InviteRequest.created_at)))


async def _decide(session: AsyncSession, document_id: str, request_id: str,
                  outcome: InviteRequestStatus, owner_id: str) -> models.InviteRequest:
    """A pending request becomes `outcome` exactly once: checked first for a clear answer,
    then by one conditional UPDATE against a concurrent decision."""
    request = await session.get(models.InviteRequest, request_id)
    if request is None or request.document_id != document_id:
        raise NotFound("Request not found")
    if request.status != PENDING:
        raise Conflict("already-settled", f"The request is already {request.status}")
    await settle_once(session, request, outcome, stamp="decided_at", named="The request")
    kind = (SharingEventKind.INVITE_REQUEST_APPROVED if outcome == InviteRequestStatus.APPROVED
            else SharingEventKind.INVITE_REQUEST_REFUSED)
    record(session, document_id, kind, actor_id=owner_id, subject_id=request.requester_id,
           subject_email=request.email, role=request.role, sections=request.sections,
           reason=request.reason)
    return request


async def approve(session: AsyncSession, settings: Settings, document: models.Document,
                  owner: models.User, request_id: str) -> tuple[models.InviteRequest, Sent]:
    """The request becomes an invitation, sent as the owner's own would be."""
    request = await _decide(session, document.id, request_id, InviteRequestStatus.APPROVED,
                            owner.id)
    invitation = await create_invitation(
        session, document, owner.id, email=request.email, role=request.role,
        sections=request.sections, reason=request.reason, message=request.message,
        expires_at=None)
    sent = await send_out(session, settings, invitation, owner)
    request.invitation_id = invitation.id
    return request, sent


async def refuse(session: AsyncSession, document_id: str, owner_id: str,
                 request_id: str) -> models.InviteRequest:
    return await _decide(session, document_id, request_id, InviteRequestStatus.REFUSED,
                         owner_id)
