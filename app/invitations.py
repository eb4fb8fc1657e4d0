"""An invitation's life: made by the owner (or from an approved request), sent, answered by
the invitee, withdrawn, or expired (`app.sharing` says how each step is logged and why each
is one conditional statement).

An invitation reaches only whoever proves its address: by its link's secret, or by a verified
address (DESIGN §8). Anyone else is told it does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail_texts, models, outbox
from app.domain_errors import Conflict, Invalid, NotFound
from app.links import issue_invitation_link, link_matches
from app.models import InvitationStatus, SharingEventKind
from app.notifications import Kind, notify
from app.settings import Settings
from app.sharing import (
    check_sections,
    member_grant,
    proves_address,
    record,
    record_invitation_step,
    settle_once,
)
from app.timeutil import utcnow

PENDING = InvitationStatus.PENDING
NOT_FOUND = "Invitation not found"


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
        .values(status=InvitationStatus.EXPIRED)
        .returning(models.Invitation)
        .execution_options(synchronize_session="fetch"))
    for invitation in expired.all():
        record_invitation_step(session, invitation, SharingEventKind.EXPIRED, actor_id=None,
                               at=invitation.expires_at)


async def _settle(session: AsyncSession, invitation: models.Invitation,
                  outcome: InvitationStatus) -> None:
    await settle_once(session, invitation, outcome, stamp="responded_at",
                      named="This invitation")


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
        raise Invalid("expires_at", "in-the-past", "The expiry date is in the past")
    sections = await check_sections(session, document.id, role, sections)
    invitee = await session.scalar(select(models.User).where(models.User.email == email))
    if invitee is not None and invitee.id == document.owner_id:
        raise Conflict("is-owner", "That is the document's owner")
    if invitee is not None and await member_grant(session, document.id, invitee.id):
        raise Conflict("already-member", "Already a member: change their role instead")
    await expire_stale_invitations(session, document_id=document.id)
    already_pending = Conflict("already-pending",
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
    record(session, document.id, SharingEventKind.INVITED, actor_id=inviter_id,
           subject_id=known.id if known else None, subject_email=email, role=role,
           sections=sections, reason=reason, message=message, invitation_id=invitation.id)
    return invitation


@dataclass(frozen=True, slots=True)
class Sent:
    link: str
    # Whether a mail was queued, to be sent once the transaction commits.
    mailed: bool


async def send_out(session: AsyncSession, settings: Settings, invitation: models.Invitation,
                   inviter: models.User) -> Sent:
    """Give a new invitation its link and, with SMTP configured, queue its mail. The link
    goes back to the owner, to copy when no mail goes."""
    link = issue_invitation_link(settings.link_base, invitation)
    document = await session.get(models.Document, invitation.document_id)
    assert document is not None and invitation.link_expires_at is not None
    invitee = await session.scalar(
        select(models.User).where(models.User.email == invitation.email))
    if invitee is not None and proves_address(invitee, invitation.email):
        # Its own mail (below) says it all: the inbox gets it, no second mail.
        await notify(session, settings, recipient=invitee, kind=Kind.INVITED,
                     text=f"{inviter.name} invites you to “{document.title}” as "
                          f"{invitation.role}", path="#/", document_id=None,
                     actor_id=inviter.id, mail=False)
    if not settings.sends_mail:
        return Sent(link, mailed=False)
    subject, body = mail_texts.invitation(
        inviter=inviter.name, document_title=document.title, role=invitation.role,
        reason=invitation.reason, message=invitation.message, link=link,
        link_expires_at=invitation.link_expires_at)
    outbox.queue(session, to_address=invitation.email, subject=subject, body=body,
                 invitation_id=invitation.id)
    return Sent(link, mailed=True)


async def _of_document(session: AsyncSession, document_id: str,
                       invitation_id: str) -> models.Invitation:
    invitation = await session.get(models.Invitation, invitation_id)
    if invitation is None or invitation.document_id != document_id:
        raise NotFound(NOT_FOUND)
    return invitation


async def renew_link(session: AsyncSession, link_base: str, document_id: str,
                     invitation_id: str) -> tuple[models.Invitation, str]:
    """A fresh link for a pending invitation (the earlier link stops working): only hashes
    are kept, so a link cannot be shown twice."""
    await expire_stale_invitations(session, document_id=document_id)
    invitation = await _of_document(session, document_id, invitation_id)
    if invitation.status != PENDING:
        raise Conflict("already-settled", f"This invitation is {invitation.status}")
    link = issue_invitation_link(link_base, invitation)
    await session.flush()
    return invitation, link


async def withdraw(session: AsyncSession, document_id: str, invitation_id: str,
                   owner_id: str) -> None:
    invitation = await _of_document(session, document_id, invitation_id)
    await expire_stale_invitations(session, document_id=document_id)
    if invitation.status != PENDING:
        raise Conflict("already-settled", f"The invitation is already {invitation.status}")
    await _settle(session, invitation, InvitationStatus.WITHDRAWN)
    record_invitation_step(session, invitation, SharingEventKind.WITHDRAWN, actor_id=owner_id)


async def of_document(session: AsyncSession, document_id: str) -> list[models.Invitation]:
    """Every invitation of the document, whatever became of it, oldest first."""
    await expire_stale_invitations(session, document_id=document_id)
    return list(await session.scalars(
        select(models.Invitation).where(models.Invitation.document_id == document_id)
        .order_by(models.Invitation.created_at)))


async def pending_for(session: AsyncSession, user: models.User) -> list[models.Invitation]:
    """Pending invitations to my address, including those sent before I had an account, once
    I proved the address is mine (a verified address); until then, only links bring them."""
    if not proves_address(user, user.email):
        return []
    await expire_stale_invitations(session, email=user.email)
    return list(await session.scalars(
        select(models.Invitation)
        .join(models.Document, models.Document.id == models.Invitation.document_id)
        .where(models.Invitation.email == user.email, models.Invitation.status == PENDING,
               models.Document.deleted_at.is_(None))  # a document in the trash is nowhere
        .order_by(models.Invitation.created_at.desc())))


async def _answerable(session: AsyncSession, user: models.User, invitation_id: str,
                      token: str | None) -> models.Invitation:
    """The invitation, if the caller proves its address: by its link's secret, or by a
    verified address. Anyone else is told it does not exist."""
    invitation = await session.get(models.Invitation, invitation_id)
    document = (await session.get(models.Document, invitation.document_id)
                if invitation is not None else None)
    proved = invitation is not None and (
        link_matches(invitation, token) if token is not None
        else proves_address(user, invitation.email))
    # A document in the trash is nowhere, its invitations with it.
    if invitation is None or not proved or document is None or document.deleted_at is not None:
        raise NotFound(NOT_FOUND)
    await expire_stale_invitations(session, document_id=invitation.document_id)
    if invitation.status == InvitationStatus.ACCEPTED and token is not None:
        raise Conflict("link-used-up", "This invitation link is used up: it was accepted already")
    if invitation.status != PENDING:
        raise Conflict("already-settled", f"This invitation is {invitation.status}")
    if token is not None and invitation.link_expires_at is not None \
            and invitation.link_expires_at <= utcnow():
        raise Conflict("link-expired",
                       "This invitation link has expired: ask the owner for a new one")
    if document.owner_id == user.id:
        raise Conflict("own-document", "You own this document")
    return invitation


async def _answer(session: AsyncSession, user: models.User, invitation_id: str,
                  token: str | None, outcome: InvitationStatus) -> models.Invitation:
    """The invitee's answer: `outcome` is both the new status and the logged step."""
    invitation = await _answerable(session, user, invitation_id, token)
    await _settle(session, invitation, outcome)
    record_invitation_step(session, invitation, SharingEventKind(outcome), actor_id=user.id,
                           subject_id=user.id)
    return invitation


async def accept(session: AsyncSession, user: models.User, invitation_id: str,
                 token: str | None) -> models.Invitation:
    """The invitee becomes a member as invited; one who became a member meanwhile (by another
    invitation's link) takes this invitation's role and scope."""
    invitation = await _answer(session, user, invitation_id, token, InvitationStatus.ACCEPTED)
    grant = await member_grant(session, invitation.document_id, user.id)
    if grant is None:
        session.add(models.Grant(document_id=invitation.document_id, user_id=user.id,
                                 role=invitation.role, sections=invitation.sections,
                                 reason=invitation.reason))
    else:
        grant.role, grant.sections, grant.updated_at = (invitation.role, invitation.sections,
                                                        utcnow())
    return invitation


async def decline(session: AsyncSession, user: models.User, invitation_id: str,
                  token: str | None) -> models.Invitation:
    return await _answer(session, user, invitation_id, token, InvitationStatus.DECLINED)
