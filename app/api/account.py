"""Proving an address and resetting a password, both by a mailed link (DESIGN §8); the rules
are `app.accounts`'."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status

from app import accounts, models
from app.api.background import on_the_loop
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.limits import client_address, too_many_requests
from app.api.schemas import MeOut, ResetIn, ResetRequestIn, SentOut, VerifyIn
from app.services import Services

router = APIRouter(prefix="/api/auth", tags=["auth"])


def me_out(user: models.User, services: Services) -> MeOut:
    return MeOut(id=user.id, email=user.email, name=user.name,
                 email_verified=user.email_verified_at is not None,
                 mail_enabled=services.settings.sends_mail,
                 trash_days=services.settings.trash_days)


@router.post("/verification", status_code=status.HTTP_202_ACCEPTED, response_model=SentOut)
async def send_verification(user: CurrentUser, session: DbSession, services: ServicesDep,
                            tasks: BackgroundTasks) -> SentOut:
    """Mail me a link that proves my address."""
    accounts.send_verification(session, services.settings, user)
    tasks.add_task(on_the_loop(services.wake_mail))
    return SentOut(detail=f"A link is on its way to {user.email}")


@router.post("/verify", response_model=MeOut)
async def verify(body: VerifyIn, session: DbSession, services: ServicesDep) -> MeOut:
    """Open from the mailed link, signed in or not: the link alone proves the address."""
    return me_out(await accounts.verify(session, body.token), services)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED, response_model=SentOut)
async def request_reset(body: ResetRequestIn, request: Request, session: DbSession,
                        services: ServicesDep, tasks: BackgroundTasks) -> SentOut:
    """The same answer whether the address has an account or not: it tells nobody who
    does. Counted per client address, as registrations are."""
    accounts.require_mail(services.settings)
    address = client_address(request)
    wait = await services.limits.reset_requests.retry_after(address)
    if wait is not None:
        raise too_many_requests("Too many reset requests from your address", wait)
    await services.limits.reset_requests.hit(address)
    if await accounts.request_reset(session, services.settings, body.email):
        tasks.add_task(on_the_loop(services.wake_mail))
    return SentOut(detail=f"If {accounts.normalise_email(body.email)} has an account, a link "
                          "is on its way to it")


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(body: ResetIn, session: DbSession, services: ServicesDep,
                         tasks: BackgroundTasks) -> None:
    """A new password, and every session, ticket and open socket of the account ends: whoever
    held the old password is out. The link also proves the address."""
    user_id = await accounts.reset_password(session, services.passwords, body.token,
                                            body.password)
    tasks.add_task(on_the_loop(services.live.sign_out_everywhere), user_id)
