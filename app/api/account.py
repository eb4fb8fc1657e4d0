"""Proving an address and resetting a password, both by a mailed link (DESIGN §8).

An unverified account works as any other on its own documents; verifying only lets what was
sent to the address (invitations) reach it without a link. A reset ends every session.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status
from sqlalchemy import select

from app import mail_texts, models, outbox
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.limits import client_address, too_many_requests
from app.api.schemas import MeOut, ResetIn, ResetRequestIn, SentOut, VerifyIn
from app.links import (
    RESET_PASSWORD,
    VERIFY_EMAIL,
    account_link,
    issue_account_token,
    redeem_account_token,
)
from app.logins import revoke_all
from app.services import Services
from app.timeutil import utcnow

router = APIRouter(prefix="/api/auth", tags=["auth"])


def me_out(user: models.User, services: Services) -> MeOut:
    return MeOut(id=user.id, email=user.email, name=user.name,
                 email_verified=user.email_verified_at is not None,
                 mail_enabled=services.settings.sends_mail,
                 trash_days=services.settings.trash_days)


def _require_mail(services: Services) -> None:
    if not services.settings.sends_mail:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "This server sends no mail (no SMTP server is configured)")


def _mail_link(session: DbSession, services: Services, tasks: BackgroundTasks,
               user: models.User, purpose: str) -> None:
    token = issue_account_token(session, user, purpose)
    link = account_link(services.settings.link_base, purpose, token)
    write = mail_texts.verification if purpose == VERIFY_EMAIL else mail_texts.password_reset
    subject, body = write(name=user.name, link=link)
    outbox.queue(session, to_address=user.email, subject=subject, body=body)
    tasks.add_task(services.wake_mail)


@router.post("/verification", status_code=status.HTTP_202_ACCEPTED, response_model=SentOut)
async def send_verification(user: CurrentUser, session: DbSession, services: ServicesDep,
                            tasks: BackgroundTasks) -> SentOut:
    """Mail me a link that proves my address."""
    _require_mail(services)
    if user.email_verified_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "Your address is verified already")
    _mail_link(session, services, tasks, user, VERIFY_EMAIL)
    return SentOut(detail=f"A link is on its way to {user.email}")


@router.post("/verify", response_model=MeOut)
async def verify(body: VerifyIn, session: DbSession, services: ServicesDep) -> MeOut:
    """Open from the mailed link, signed in or not: the link alone proves the address."""
    token = await redeem_account_token(session, body.token, VERIFY_EMAIL)
    user = await session.get(models.User, token.user_id)
    if user is None or user.email != token.email:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            "This link was for another address; ask for a new one")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return me_out(user, services)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED, response_model=SentOut)
async def request_reset(body: ResetRequestIn, request: Request, session: DbSession,
                        services: ServicesDep, tasks: BackgroundTasks) -> SentOut:
    """The same answer whether the address has an account or not: it tells nobody who
    does. Counted per client address, as registrations are."""
    _require_mail(services)
    address = client_address(request)
    wait = services.reset_requests.retry_after(address)
    if wait is not None:
        raise too_many_requests("Too many reset requests from your address", wait)
    services.reset_requests.hit(address)
    email = body.email.strip().lower()
    user = await session.scalar(select(models.User).where(models.User.email == email))
    if user is not None:
        _mail_link(session, services, tasks, user, RESET_PASSWORD)
    return SentOut(detail=f"If {email} has an account, a link is on its way to it")


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(body: ResetIn, session: DbSession, services: ServicesDep,
                         tasks: BackgroundTasks) -> None:
    """A new password, and every session, ticket and open socket of the account ends: whoever
    held the old password is out. The link also proves the address."""
    token = await redeem_account_token(session, body.token, RESET_PASSWORD)
    user = await session.get(models.User, token.user_id)
    if user is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "This link's account is gone")
    user.password_hash = await services.passwords.hash(body.password)
    if user.email == token.email and user.email_verified_at is None:
        user.email_verified_at = utcnow()
    await revoke_all(session, user.id)
    tasks.add_task(services.connections.sign_out_everywhere, user.id)
    tasks.add_task(services.event_connections.sign_out_everywhere, user.id)
