"""Sharing (DESIGN §4): invitations, members, ownership, invite requests, the sharing log.

A change to someone's grant narrows their open connections before it commits and sets them
exactly after (`app.live`), so revocations and downgrades bite within the request.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from sqlalchemy import select

from app import live, log_view, mail_texts, models, outbox
from app.api.access import forbid, require_access, require_owner
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
from app.errors import Refusal
from app.links import issue_invitation_link, link_matches
from app.notifications import Kind, notify
from app.permissions import Access, Role, document_access
from app.services import Services
from app.sharing import (
    PENDING,
    check_sections,
    create_invitation,
    decide_request,
    expire_stale_invitations,
    member_grant,
    proves_address,
    record,
    record_invitation_step,
    remove_grant,
    settle_invitation,
    transfer_owner,
)
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


async def _send_out(session: DbSession, services: Services, tasks: BackgroundTasks,
                    invitation: models.Invitation, inviter: models.User) -> str:
    """Give a new invitation its link and, with SMTP configured, queue its mail (sent once
    the request commits). The link is returned to the owner, to copy when no mail goes."""
    settings = services.settings
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
    if settings.sends_mail:
        subject, body = mail_texts.invitation(
            inviter=inviter.name, document_title=document.title, role=invitation.role,
            reason=invitation.reason, message=invitation.message, link=link,
            link_expires_at=invitation.link_expires_at)
        outbox.queue(session, to_address=invitation.email, subject=subject, body=body,
                     invitation_id=invitation.id)
        tasks.add_task(services.wake_mail)
    return link


def _after_commit(tasks: BackgroundTasks, services: Services, document_id: str,
                  user_id: str) -> None:
    """Once committed, give the user's connections exactly their new access."""
    async def apply() -> None:
        async with services.sessions() as session:
            access = await document_access(session, user_id, document_id)
        live.apply_committed(services.rooms, document_id, user_id, access)

    tasks.add_task(apply)


# --- invitations, as the owner sees them ---------------------------------------------------

@router.post("/documents/{document_id}/invitations", status_code=status.HTTP_201_CREATED,
             response_model=InvitationOut)
async def invite(document_id: str, body: InvitationIn, user: CurrentUser,
                 session: DbSession, services: ServicesDep,
                 tasks: BackgroundTasks) -> InvitationOut:
    access = await require_owner(session, user, document_id)
    invitation = await create_invitation(
        session, access.document, user.id, email=body.email, role=body.role,
        sections=body.sections, reason=body.reason, message=body.message,
        expires_at=body.expires_at,
    )
    link = await _send_out(session, services, tasks, invitation, user)
    await session.flush()
    return await _invitation_out(session, invitation, for_owner=True, link=link)


@router.post("/documents/{document_id}/invitations/{invitation_id}/link",
             response_model=InvitationOut)
async def new_link(document_id: str, invitation_id: str, user: CurrentUser,
                   session: DbSession, services: ServicesDep) -> InvitationOut:
    """A fresh link for a pending invitation, to copy (the earlier link stops working):
    only hashes are kept, so a link cannot be shown twice."""
    await require_owner(session, user, document_id)
    await expire_stale_invitations(session, document_id=document_id)
    invitation = await session.get(models.Invitation, invitation_id)
    if invitation is None or invitation.document_id != document_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Invitation not found")
    if invitation.status != PENDING:
        raise HTTPException(status.HTTP_409_CONFLICT, f"This invitation is {invitation.status}")
    link = issue_invitation_link(services.settings.link_base, invitation)
    await session.flush()
    return await _invitation_out(session, invitation, for_owner=True, link=link)


@router.get("/documents/{document_id}/invitations", response_model=list[InvitationOut])
async def document_invitations(document_id: str, user: CurrentUser,
                               session: DbSession) -> list[InvitationOut]:
    await require_owner(session, user, document_id)
    await expire_stale_invitations(session, document_id=document_id)
    invitations = await session.scalars(
        select(models.Invitation).where(models.Invitation.document_id == document_id)
        .order_by(models.Invitation.created_at))
    return [await _invitation_out(session, i, for_owner=True) for i in invitations]


@router.delete("/documents/{document_id}/invitations/{invitation_id}",
               status_code=status.HTTP_204_NO_CONTENT)
async def withdraw(document_id: str, invitation_id: str, user: CurrentUser,
                   session: DbSession) -> None:
    await require_owner(session, user, document_id)
    invitation = await session.get(models.Invitation, invitation_id)
    if invitation is None or invitation.document_id != document_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Invitation not found")
    await expire_stale_invitations(session, document_id=document_id)
    if invitation.status != PENDING:
        raise Refusal(status.HTTP_409_CONFLICT, "already-settled",
                      f"The invitation is already {invitation.status}")
    await settle_invitation(session, invitation, "withdrawn")
    record_invitation_step(session, invitation, "withdrawn", actor_id=user.id)


# --- invitations, as the invitee sees them -------------------------------------------------

@router.get("/invitations", response_model=list[InvitationOut])
async def my_invitations(user: CurrentUser, session: DbSession) -> list[InvitationOut]:
    """Pending invitations to my address, including those sent before I had an account, once
    I proved the address is mine (a verified address); until then, only links bring them."""
    if not proves_address(user, user.email):
        return []
    await expire_stale_invitations(session, email=user.email)
    invitations = await session.scalars(
        select(models.Invitation)
        .join(models.Document, models.Document.id == models.Invitation.document_id)
        .where(models.Invitation.email == user.email, models.Invitation.status == "pending",
               models.Document.deleted_at.is_(None))  # a document in the trash is nowhere
        .order_by(models.Invitation.created_at.desc()))
    return [await _invitation_out(session, i) for i in invitations]


async def _my_pending_invitation(session: DbSession, user: models.User, invitation_id: str,
                                 answer: InvitationAnswerIn | None) -> models.Invitation:
    """The invitation, if the caller proves its address: by its link's secret, or by a
    verified address. Anyone else gets the 404 of an invitation that does not exist."""
    token = answer.token if answer is not None else None
    invitation = await session.get(models.Invitation, invitation_id)
    document = (await session.get(models.Document, invitation.document_id)
                if invitation is not None else None)
    proved = invitation is not None and (
        link_matches(invitation, token) if token is not None
        else proves_address(user, invitation.email))
    # A document in the trash is nowhere, its invitations with it.
    if invitation is None or not proved or document is None or document.deleted_at is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Invitation not found")
    await expire_stale_invitations(session, document_id=invitation.document_id)
    if invitation.status == "accepted" and token is not None:
        raise Refusal(status.HTTP_409_CONFLICT, "link-used-up",
                      "This invitation link is used up: it was accepted already")
    if invitation.status != PENDING:
        raise Refusal(status.HTTP_409_CONFLICT, "already-settled",
                      f"This invitation is {invitation.status}")
    if token is not None and invitation.link_expires_at is not None \
            and invitation.link_expires_at <= utcnow():
        raise Refusal(status.HTTP_409_CONFLICT, "link-expired",
                      "This invitation link has expired: ask the owner for a new one")
    if document.owner_id == user.id:
        raise Refusal(status.HTTP_409_CONFLICT, "own-document", "You own this document")
    return invitation


async def _respond(session: DbSession, invitation: models.Invitation, user: models.User,
                   outcome: str) -> None:
    """The invitee's answer: `outcome` is both the new status and the logged step."""
    await settle_invitation(session, invitation, outcome)
    record_invitation_step(session, invitation, outcome, actor_id=user.id, subject_id=user.id)


@router.post("/invitations/{invitation_id}/accept", response_model=InvitationOut)
async def accept(invitation_id: str, user: CurrentUser, session: DbSession,
                 body: InvitationAnswerIn | None = None) -> InvitationOut:
    invitation = await _my_pending_invitation(session, user, invitation_id, body)
    await _respond(session, invitation, user, "accepted")
    grant = await member_grant(session, invitation.document_id, user.id)
    if grant is None:
        session.add(models.Grant(document_id=invitation.document_id, user_id=user.id,
                                 role=invitation.role, sections=invitation.sections,
                                 reason=invitation.reason))
    else:
        grant.role, grant.sections, grant.updated_at = (invitation.role, invitation.sections,
                                                        utcnow())
    return await _invitation_out(session, invitation)


@router.post("/invitations/{invitation_id}/decline", response_model=InvitationOut)
async def decline(invitation_id: str, user: CurrentUser, session: DbSession,
                  body: InvitationAnswerIn | None = None) -> InvitationOut:
    invitation = await _my_pending_invitation(session, user, invitation_id, body)
    await _respond(session, invitation, user, "declined")
    return await _invitation_out(session, invitation)


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


async def _grant_of(session: DbSession, document_id: str, user_id: str) -> models.Grant:
    grant = await member_grant(session, document_id, user_id)
    if grant is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not a member of this document")
    return grant


@router.patch("/documents/{document_id}/members/{member_id}", response_model=MemberOut)
async def change_member(document_id: str, member_id: str, body: MemberPatch,
                        user: CurrentUser, session: DbSession, services: ServicesDep,
                        tasks: BackgroundTasks) -> MemberOut:
    access = await require_owner(session, user, document_id)
    grant = await _grant_of(session, document_id, member_id)
    role = body.role or grant.role
    if "sections" in body.model_fields_set:
        sections = body.sections
    else:
        sections = grant.sections if role == Role.EDITOR else None
    sections = await check_sections(session, document_id, role, sections)
    role_changed, scope_changed = role != grant.role, sections != grant.sections
    grant.role, grant.sections, grant.updated_at = role, sections, utcnow()
    if role_changed:
        record(session, document_id, "role_changed", actor_id=user.id, subject_id=member_id,
               role=role, sections=sections)
    if scope_changed and not role_changed:
        record(session, document_id, "scope_changed", actor_id=user.id, subject_id=member_id,
               role=role, sections=sections)
    new_access = Access(access.document, Role(role),
                        frozenset(sections) if sections is not None else None)
    live.restrict_now(services.rooms, document_id, member_id, new_access)
    _after_commit(tasks, services, document_id, member_id)
    member = await session.get(models.User, member_id)
    assert member is not None
    return MemberOut(user=UserOut.model_validate(member), role=role, sections=sections,
                     reason=grant.reason, since=grant.created_at)


@router.delete("/documents/{document_id}/members/{member_id}",
               status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(document_id: str, member_id: str, user: CurrentUser,
                        session: DbSession, services: ServicesDep,
                        tasks: BackgroundTasks) -> None:
    """The owner revokes a member, or a member leaves."""
    access = await require_access(session, user, document_id)
    leaving = member_id == user.id
    if leaving and access.is_owner:
        raise Refusal(status.HTTP_409_CONFLICT, "owner-cannot-leave",
                      "The owner cannot leave; transfer ownership first")
    if not leaving and not access.can_manage:
        raise forbid("Only the owner can remove members", "owner-only")
    role, sections = await remove_grant(session, document_id, member_id)
    record(session, document_id, "left" if leaving else "revoked", actor_id=user.id,
           subject_id=member_id, role=role, sections=sections)
    live.restrict_now(services.rooms, document_id, member_id, None)
    _after_commit(tasks, services, document_id, member_id)


@router.post("/documents/{document_id}/transfer", response_model=list[MemberOut])
async def transfer_ownership(document_id: str, body: TransferIn, user: CurrentUser,
                             session: DbSession, services: ServicesDep,
                             tasks: BackgroundTasks) -> list[MemberOut]:
    """The new owner must already be a member; the old owner stays on as a full editor."""
    access = await require_owner(session, user, document_id)
    await _grant_of(session, document_id, body.user_id)  # a 404 before anything changes
    await transfer_owner(session, access.document, user.id, body.user_id)
    record(session, document_id, "ownership_transferred", actor_id=user.id,
           subject_id=body.user_id, role=Role.OWNER)
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
    if not access.can_request_invite:
        raise forbid("Only editors can ask the owner to invite someone")
    sections = await check_sections(session, document_id, body.role, body.sections)
    request = models.InviteRequest(
        document_id=document_id, requester_id=user.id, email=body.email.strip().lower(),
        role=body.role, sections=sections, reason=body.reason, message=body.message)
    session.add(request)
    await session.flush()
    record(session, document_id, "invite_requested", actor_id=user.id,
           subject_email=request.email, role=request.role, sections=sections,
           reason=request.reason, message=request.message)
    owner = await session.get(models.User, access.document.owner_id)
    assert owner is not None
    await notify(session, services.settings, recipient=owner, kind=Kind.INVITE_REQUEST,
                 text=f"{user.name} asks you to invite {request.email} to "
                      f"“{access.document.title}” as {request.role}",
                 path=f"#/d/{document_id}", document_id=document_id, actor_id=user.id)
    tasks.add_task(services.wake_mail)
    return await _request_out(session, request)


@router.get("/documents/{document_id}/invite-requests", response_model=list[InviteRequestOut])
async def invite_requests(document_id: str, user: CurrentUser,
                          session: DbSession) -> list[InviteRequestOut]:
    """The owner sees every request; an editor sees their own."""
    access = await require_access(session, user, document_id)
    query = select(models.InviteRequest).where(models.InviteRequest.document_id == document_id)
    if not access.can_manage:
        query = query.where(models.InviteRequest.requester_id == user.id)
    requests = await session.scalars(query.order_by(models.InviteRequest.created_at))
    return [await _request_out(session, r) for r in requests]


async def _pending_request(session: DbSession, document_id: str,
                           request_id: str) -> models.InviteRequest:
    request = await session.get(models.InviteRequest, request_id)
    if request is None or request.document_id != document_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Request not found")
    if request.status != PENDING:
        raise Refusal(status.HTTP_409_CONFLICT, "already-settled",
                      f"The request is already {request.status}")
    return request


@router.post("/documents/{document_id}/invite-requests/{request_id}/approve",
             response_model=InviteRequestOut)
async def approve_request(document_id: str, request_id: str, user: CurrentUser,
                          session: DbSession, services: ServicesDep,
                          tasks: BackgroundTasks) -> InviteRequestOut:
    access = await require_owner(session, user, document_id)
    request = await _pending_request(session, document_id, request_id)
    await decide_request(session, request, "approved")
    record(session, document_id, "invite_request_approved", actor_id=user.id,
           subject_id=request.requester_id, subject_email=request.email, role=request.role,
           sections=request.sections, reason=request.reason)
    invitation = await create_invitation(
        session, access.document, user.id, email=request.email, role=request.role,
        sections=request.sections, reason=request.reason, message=request.message,
        expires_at=None)
    await _send_out(session, services, tasks, invitation, user)
    request.invitation_id = invitation.id
    return await _request_out(session, request)


@router.post("/documents/{document_id}/invite-requests/{request_id}/refuse",
             response_model=InviteRequestOut)
async def refuse_request(document_id: str, request_id: str, user: CurrentUser,
                         session: DbSession) -> InviteRequestOut:
    await require_owner(session, user, document_id)
    request = await _pending_request(session, document_id, request_id)
    await decide_request(session, request, "refused")
    record(session, document_id, "invite_request_refused", actor_id=user.id,
           subject_id=request.requester_id, subject_email=request.email, role=request.role,
           sections=request.sections, reason=request.reason)
    return await _request_out(session, request)


# --- the sharing log -----------------------------------------------------------------------

@router.get("/documents/{document_id}/log", response_model=SharingLogOut)
async def sharing_log(document_id: str, user: CurrentUser, session: DbSession) -> SharingLogOut:
    """How the document became social, step by step; read-only by construction. What each
    reader sees of a step is the policy's (`LogReader`): the owner all, members less."""
    access = await require_access(session, user, document_id)
    await expire_stale_invitations(session, document_id=document_id)
    events = await log_view.history(session, document_id)
    members = len(await log_view.member_ids(session, document_id)) + 1
    first_invite = next((e for e in events if e.kind == "invited"), None)
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
