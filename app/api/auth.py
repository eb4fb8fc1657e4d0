"""Accounts and sessions (DESIGN §4): register, login, logout, me."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request, Response, status

from app import accounts, logins, models
from app.api.account import me_out
from app.api.background import on_the_loop
from app.api.deps import SESSION_COOKIE, CurrentLogin, CurrentUser, DbSession, ServicesDep
from app.api.limits import client_address, too_many_requests
from app.api.schemas import LoginIn, LoginOut, MeOut, RegisterIn, UserOut
from app.domain_errors import Unauthenticated

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(
    body: RegisterIn, request: Request, session: DbSession, services: ServicesDep
) -> models.User:
    # Every attempt costs a hash, so every attempt counts, including one for a taken address.
    address = client_address(request)
    wait = await services.limits.registrations.retry_after(address)
    if wait is not None:
        raise too_many_requests("Too many new accounts from your address", wait)
    await services.limits.registrations.hit(address)
    return await accounts.register(session, services.passwords, email=body.email,
                                   name=body.name, password=body.password)


@router.post("/auth/login", response_model=LoginOut)
async def login(
    body: LoginIn, request: Request, response: Response, session: DbSession, services: ServicesDep
) -> LoginOut:
    email = accounts.normalise_email(body.email)
    address = client_address(request)
    throttle = services.limits.login_throttle
    # Checked before the password: a stopped guesser learns nothing, even from the right one.
    wait = await throttle.retry_after(email, address)
    if wait is not None:
        raise too_many_requests("Too many failed sign-in attempts", wait)
    try:
        user = await accounts.authenticate(session, services.sessions, services.passwords,
                                           email, body.password)
    except Unauthenticated:
        await throttle.failed(email, address)
        raise
    await throttle.succeeded(email, address)
    ttl = timedelta(hours=services.settings.session_ttl_hours)
    token, expires_at = accounts.open_login(session, user, ttl)
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
    await logins.revoke(session, login.session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    tasks.add_task(on_the_loop(services.live.sign_out), login.session_id)


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, services: ServicesDep) -> MeOut:
    return me_out(user, services)
