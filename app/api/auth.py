"""Accounts and sessions (DESIGN §4): register, login, logout, me."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import models
from app.api.deps import SESSION_COOKIE, CurrentLogin, CurrentUser, DbSession, ServicesDep
from app.api.schemas import LoginIn, LoginOut, RegisterIn, UserOut
from app.security import hash_password, needs_rehash, new_token, token_digest, verify_password
from app.timeutil import utcnow

router = APIRouter(prefix="/api", tags=["auth"])


def _normalise_email(email: str) -> str:
    return email.strip().lower()


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(body: RegisterIn, session: DbSession) -> models.User:
    user = models.User(email=_normalise_email(body.email), name=body.name,
                       password_hash=hash_password(body.password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "An account with this email exists") from exc
    return user


@router.post("/auth/login", response_model=LoginOut)
async def login(
    body: LoginIn, request: Request, response: Response, session: DbSession, services: ServicesDep
) -> LoginOut:
    email = _normalise_email(body.email)
    keys = (f"email:{email}", f"ip:{request.client.host if request.client else '?'}")
    throttle = services.login_throttle
    wait = throttle.retry_after(*keys)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Too many failed sign-in attempts; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    user = await session.scalar(select(models.User).where(models.User.email == email))
    if not verify_password(user.password_hash if user else None, body.password) or user is None:
        throttle.record_failure(*keys)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Wrong email or password")
    throttle.reset(keys[0])
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(body.password)

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


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> models.User:
    return user
