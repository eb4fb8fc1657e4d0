"""Sharing (DESIGN §4): invitations, members, ownership, invite requests, the sharing log.

A change to someone's grant narrows their open connections before it commits and sets them
exactly after (`app.live`), so revocations and downgrades bite within the request.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status
from sqlalchemy import select

from app import invitations, log_view, membership, models
from app import invite_requests as invite_request_steps
from app.api.access import require_access, require_owner
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.schemas import (
    InvitationAnswerIn,
    InvitationIn,
    InvitationOut,
    InviteRequestIn,
    InviteRequestOut,
    MailState,
    MailStatusOut,
    MemberOut,
    MemberPatch,
    SharingLogOut,
    SharingSummary,
    TransferIn,
    UserOut,
)
from app.models import SharingEventKind
from app.permissions import Access, Role, document_access
from app.services import Services
from app.timeutil import utcnow

router = APIRouter(prefix="/api", tags=["sharing"])


async def _users(session: DbSession, ids: set[str | None]) -> dict[str, models.User]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u for u in await session.scalars(
        select(models.User).where(models.User.id.in_(wanted)))}


async def _invitation_out(session: DbSession, invitation: models.Invitation, *,
                          for_owner: bool = False, link: str | None = None) -> InvitationOut:
    document = await session.get(models.Document, invitation.document_id)
    inviter = await session.get(models.User, invitation.inviter_id)
    assert document is not None and inviter is not None
    return InvitationOut(
        id=invitation.id, document_id=document.id, document_title=document.title,
        inviter=UserOut.model_validate(inviter), email=invitation.email, role=invitation.role,
        sections=invitation.sections, reason=invitation.reason, message=invitation.message,
        expires_at=invitation.expires_at, status=invitation.status,
        created_at=invitation.created_at, responded_at=invitation.responded_at,
        link=link, link_expires_at=invitation.link_expires_at if for_owner else None,
        mail=await _mail_status(session, invitation.id) if for_owner else None,
    )


async def _mail_status(session: DbSession, invitation_id: str) -> MailStatusOut | None:
    """What became of the invitation's latest mail, so the owner sees a failure."""
    mail = await session.scalar(
        select(models.OutgoingMail).where(models.OutgoingMail.invitation_id == invitation_id)
        .order_by(models.OutgoingMail.created_at.desc()).limit(1))
    if mail is None:
        return None
    state: MailState = ("sent" if mail.sent_at else "failed" if mail.gave_up_at
                        else "retrying" if mail.last_error else "queued")
    return MailStatusOut(status=state, attempts=mail.attempts, error=mail.last_error,
                         sent_at=mail.sent_at)


def _wake_mail(tasks: BackgroundTasks, services: Services, sent: invitations.Sent) -> None:
    if sent.mailed:
        tasks.add_task(services.wake_mail)


def _after_commit(tasks: BackgroundTasks, services: Services, document_id: str,
                  user_id: str) -> None:
    """Once committed, give the user's connections exactly their new access."""
    async def apply() -> None:
        async with services.sessions() as session:
            access = await document_access(session, user_id, document_id)
        services.live.apply_committed(document_id, user_id, access)

    tasks.add_task(apply)


# --- invitations, as the owner sees them ---------------------------------------------------

@router.post("/documents/{document_id}/invitations", status_code=status.HTTP_201_CREATED,
             response_model=InvitationOut)
async def invite(document_id: str, body: InvitationIn, user: CurrentUser,
                 session: DbSession, services: ServicesDep,
                 tasks: BackgroundTasks) -> InvitationOut:
    access = await require_owner(session, user, document_id)
    invitation = await invitations.create_invitation(
        session, access.document, user.id, email=body.email, role=body.role,
        sections=body.sections, reason=body.reason, message=body.message,
        expires_at=body.expires_at,
    )
    sent = await invitations.send_out(session, services.settings, invitation, user)
    _wake_mail(tasks, services, sent)
    await session.flush()
    return await _invitation_out(session, invitation, for_owner=True, link=sent.link)


@router.post("/documents/{document_id}/invitations/{invitation_id}/link",
             response_model=InvitationOut)
async def new_link(document_id: str, invitation_id: str, user: CurrentUser,
                   session: DbSession, services: ServicesDep) -> InvitationOut:
    """A fresh link for a pending invitation, to copy (the earlier link stops working):
    only hashes are kept, so a link cannot be shown twice."""
    await require_owner(session, user, document_id)
    invitation, link = await invitations.renew_link(
        session, services.settings.link_base, document_id, invitation_id)
    return await _invitation_out(session, invitation, for_owner=True, link=link)


@router.get("/documents/{document_id}/invitations", response_model=list[InvitationOut])
async def document_invitations(document_id: str, user: CurrentUser,
                               session: DbSession) -> list[InvitationOut]:
    await require_owner(session, user, document_id)
    return [await _invitation_out(session, i, for_owner=True)
            for i in await invitations.of_document(session, document_id)]


@router.delete("/documents/{document_id}/invitations/{invitation_id}",
               status_code=status.HTTP_204_NO_CONTENT)
async def withdraw(document_id: str, invitation_id: str, user: CurrentUser,
                   session: DbSession) -> None:
    await require_owner(session, user, document_id)
    await invitations.withdraw(session, document_id, invitation_id, user.id)


# --- invitations, as the invitee sees them -------------------------------------------------

@router.get("/invitations", response_model=list[InvitationOut])
async def my_invitations(user: CurrentUser, session: DbSession) -> list[InvitationOut]:
    """Pending invitations to my address, including those sent before I had an account, once
    I proved the address is mine (a verified address); until then, only links bring them."""
    return [await _invitation_out(session, i)
            for i in await invitations.pending_for(session, user)]


@router.post("/invitations/{invitation_id}/accept", response_model=InvitationOut)
async def accept(invitation_id: str, user: CurrentUser, session: DbSession,
                 body: InvitationAnswerIn | None = None) -> InvitationOut:
    invitation = await invitations.accept(session, user, invitation_id, _token(body))
    return await _invitation_out(session, invitation)


@router.post("/invitations/{invitation_id}/decline", response_model=InvitationOut)
async def decline(invitation_id: str, user: CurrentUser, session: DbSession,
                  body: InvitationAnswerIn | None = None) -> InvitationOut:
    invitation = await invitations.decline(session, user, invitation_id, _token(body))
    return await _invitation_out(session, invitation)


def _token(answer: InvitationAnswerIn | None) -> str | None:
    return answer.token if answer is not None else None


# --- members -------------------------------------------------------------------------------

@router.get("/documents/{document_id}/members", response_model=list[MemberOut])
async def members(document_id: str, user: CurrentUser, session: DbSession) -> list[MemberOut]:
    access = await require_access(session, user, document_id)
    grants = list(await session.scalars(
        select(models.Grant).where(models.Grant.document_id == document_id)
        .order_by(models.Grant.created_at)))
    users = await _users(session, {access.document.owner_id, *(g.user_id for g in grants)})
    owner = MemberOut(user=UserOut.model_validate(users[access.document.owner_id]),
                      role=Role.OWNER, sections=None, reason=None,
                      since=access.document.created_at)
    return [owner, *(
        MemberOut(user=UserOut.model_validate(users[g.user_id]), role=g.role,
                  sections=g.sections, reason=g.reason, since=g.created_at)
        for g in grants)]


@router.patch("/documents/{document_id}/members/{member_id}", response_model=MemberOut)
async def change_member(document_id: str, member_id: str, body: MemberPatch,
                        user: CurrentUser, session: DbSession, services: ServicesDep,
                        tasks: BackgroundTasks) -> MemberOut:
    access = await require_owner(session, user, document_id)
    grant = await membership.change_member(
        session, document_id, user.id, member_id, role=body.role, sections=body.sections,
        sections_given="sections" in body.model_fields_set)
    new_access = Access(access.document, Role(grant.role),
                        frozenset(grant.sections) if grant.sections is not None else None)
    services.live.restrict_now(document_id, member_id, new_access)
    _after_commit(tasks, services, document_id, member_id)
    member = await session.get(models.User, member_id)
    assert member is not None
    return MemberOut(user=UserOut.model_validate(member), role=grant.role,
                     sections=grant.sections, reason=grant.reason, since=grant.created_at)


@router.delete("/documents/{document_id}/members/{member_id}",
               status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(document_id: str, member_id: str, user: CurrentUser,
                        session: DbSession, services: ServicesDep,
                        tasks: BackgroundTasks) -> None:
    """The owner revokes a member, or a member leaves."""
    access = await require_access(session, user, document_id)
    await membership.remove_member(session, access, user.id, member_id)
    services.live.restrict_now(document_id, member_id, None)
    _after_commit(tasks, services, document_id, member_id)


@router.post("/documents/{document_id}/transfer", response_model=list[MemberOut])
async def transfer_ownership(document_id: str, body: TransferIn, user: CurrentUser,
                             session: DbSession, services: ServicesDep,
                             tasks: BackgroundTasks) -> list[MemberOut]:
    """The new owner must already be a member; the old owner stays on as a full editor."""
    access = await require_owner(session, user, document_id)
    await membership.transfer_ownership(session, access.document, user.id, body.user_id)
    for member_id in (user.id, body.user_id):
        _after_commit(tasks, services, document_id, member_id)
    return await members(document_id, user, session)


# --- invite requests -----------------------------------------------------------------------

async def _request_out(session: DbSession, request: models.InviteRequest) -> InviteRequestOut:
    requester = await session.get(models.User, request.requester_id)
    assert requester is not None
    return InviteRequestOut(
        id=request.id, document_id=request.document_id,
        requester=UserOut.model_validate(requester), email=request.email, role=request.role,
        sections=request.sections, reason=request.reason, message=request.message,
        status=request.status, created_at=request.created_at, decided_at=request.decided_at,
        invitation_id=request.invitation_id,
    )


@router.post("/documents/{document_id}/invite-requests", status_code=status.HTTP_201_CREATED,
             response_model=InviteRequestOut)
async def request_invite(document_id: str, body: InviteRequestIn, user: CurrentUser,
                         session: DbSession, services: ServicesDep,
                         tasks: BackgroundTasks) -> InviteRequestOut:
    access = await require_access(session, user, document_id)
    request = await invite_request_steps.create_request(
        session, services.settings, access, user, email=body.email, role=body.role,
        sections=body.sections, reason=body.reason, message=body.message)
    tasks.add_task(services.wake_mail)
    return await _request_out(session, request)


@router.get("/documents/{document_id}/invite-requests", response_model=list[InviteRequestOut])
async def invite_requests(document_id: str, user: CurrentUser,
                          session: DbSession) -> list[InviteRequestOut]:
    """The owner sees every request; an editor sees their own."""
    access = await require_access(session, user, document_id)
    return [await _request_out(session, r)
            for r in await invite_request_steps.visible_to(session, access, user.id)]


@router.post("/documents/{document_id}/invite-requests/{request_id}/approve",
             response_model=InviteRequestOut)
async def approve_request(document_id: str, request_id: str, user: CurrentUser,
                          session: DbSession, services: ServicesDep,
                          tasks: BackgroundTasks) -> InviteRequestOut:
    access = await require_owner(session, user, document_id)
    request, sent = await invite_request_steps.approve(
        session, services.settings, access.document, user, request_id)
    _wake_mail(tasks, services, sent)
    return await _request_out(session, request)


@router.post("/documents/{document_id}/invite-requests/{request_id}/refuse",
             response_model=InviteRequestOut)
async def refuse_request(document_id: str, request_id: str, user: CurrentUser,
                         session: DbSession) -> InviteRequestOut:
    await require_owner(session, user, document_id)
    request = await invite_request_steps.refuse(session, document_id, user.id, request_id)
    return await _request_out(session, request)


# --- the sharing log -----------------------------------------------------------------------

@router.get("/documents/{document_id}/log", response_model=SharingLogOut)
async def sharing_log(document_id: str, user: CurrentUser, session: DbSession) -> SharingLogOut:
    """How the document became social, step by step; read-only by construction. What each
    reader sees of a step is the policy's (`LogReader`): the owner all, members less."""
    access = await require_access(session, user, document_id)
    await invitations.expire_stale_invitations(session, document_id=document_id)
    events = await log_view.history(session, document_id)
    members = len(await log_view.member_ids(session, document_id)) + 1
    first_invite = next((e for e in events if e.kind == SharingEventKind.INVITED), None)
    created = access.document.created_at
    private_until = first_invite.at if first_invite else None
    summary = SharingSummary(
        created_at=created,
        private_until=private_until,
        private_for_seconds=((private_until or utcnow()) - created).total_seconds(),
        first_need=first_invite.reason if first_invite else None,
        members=members,
    )
    return SharingLogOut(summary=summary, events=await log_view.render(session, access, events))
