"""Accounts and sessions (DESIGN §4): register, login, logout, me."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import models
from app.api.account import me_out
from app.api.deps import SESSION_COOKIE, CurrentLogin, CurrentUser, DbSession, ServicesDep
from app.api.limits import client_address, too_many_requests
from app.api.schemas import LoginIn, LoginOut, MeOut, RegisterIn, UserOut
from app.errors import Refusal
from app.security import new_token, token_digest
from app.services import Services
from app.timeutil import utcnow

router = APIRouter(prefix="/api", tags=["auth"])


def _normalise_email(email: str) -> str:
    return email.strip().lower()


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(
    body: RegisterIn, request: Request, session: DbSession, services: ServicesDep
) -> models.User:
    # Every attempt costs a hash, so every attempt counts, including one for a taken address.
    address = client_address(request)
    wait = services.registrations.retry_after(address)
    if wait is not None:
        raise too_many_requests("Too many new accounts from your address", wait)
    services.registrations.hit(address)
    user = models.User(email=_normalise_email(body.email), name=body.name,
                       password_hash=await services.passwords.hash(body.password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Refusal(status.HTTP_409_CONFLICT, "email-taken",
                      "An account with this email exists") from exc
    return user


async def _credentials(services: Services, email: str) -> tuple[str | None, str | None]:
    """The account's id and password hash, read in a transaction of its own: verifying waits
    for a hashing thread, and holding a pooled connection meanwhile would let a burst of logins
    take every connection from everyone else."""
    async with services.sessions() as session:
        row = (await session.execute(
            select(models.User.id, models.User.password_hash).where(models.User.email == email)
        )).first()
    return (row.id, row.password_hash) if row else (None, None)


@router.post("/auth/login", response_model=LoginOut)
async def login(
    body: LoginIn, request: Request, response: Response, session: DbSession, services: ServicesDep
) -> LoginOut:
    email = _normalise_email(body.email)
    address = client_address(request)
    throttle = services.login_throttle
    # Checked before the password: a stopped guesser learns nothing, even from the right one.
    wait = throttle.retry_after(email, address)
    if wait is not None:
        raise too_many_requests("Too many failed sign-in attempts", wait)
    user_id, password_hash = await _credentials(services, email)
    verified = await services.passwords.verify(password_hash, body.password)
    user = await session.get(models.User, user_id) if verified and user_id else None
    if user is None:
        throttle.failed(email, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Wrong email or password")
    throttle.succeeded(email, address)
    if services.passwords.needs_rehash(user.password_hash):
        user.password_hash = await services.passwords.hash(body.password)

    token = new_token()
    ttl = timedelta(hours=services.settings.session_ttl_hours)
    expires_at = utcnow() + ttl
    session.add(models.Session(token_hash=token_digest(token), user_id=user.id,
                               expires_at=expires_at))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=services.settings.cookie_secure,
        path="/",
    )
    return LoginOut(token=token, expires_at=expires_at, user=UserOut.model_validate(user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(response: Response, login: CurrentLogin, session: DbSession,
                 services: ServicesDep, tasks: BackgroundTasks) -> None:
    """Ends this login: its cookie, its unused websocket tickets and its open sockets."""
    now = utcnow()
    await session.execute(
        update(models.Session).where(models.Session.id == login.session_id)
        .values(revoked_at=now))
    await session.execute(
        update(models.WsTicket)
        .where(models.WsTicket.session_id == login.session_id,
               models.WsTicket.used_at.is_(None))
        .values(used_at=now))
    response.delete_cookie(SESSION_COOKIE, path="/")
    tasks.add_task(services.connections.sign_out, login.session_id)
    tasks.add_task(services.event_connections.sign_out, login.session_id)


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, services: ServicesDep) -> MeOut:
    return me_out(user, services)
