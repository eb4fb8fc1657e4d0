"""Dependencies that make routes read like prose: `session: DbSession, user: CurrentUser`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import logins, models
from app.cross_site import refuse_cross_site
from app.events import staged
from app.security import token_digest
from app.services import Services
from app.timeutil import utcnow

SESSION_COOKIE = "widen_session"


async def get_services(request: Request) -> Services:
    """`async`, though it awaits nothing: FastAPI runs a plain function dependency on a worker
    thread, a hop every request paid for (about 8% of a health check's server CPU)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_db(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: it commits when the route returns, rolls back if it raises.
    What it changed is then told to the pages that show it (`app.events`): only once
    committed, so a rolled-back change is never heard of."""
    async with services.sessions() as session:
        async with session.begin():
            yield session
        changes = staged(session)
    await services.events.publish(changes)


# "function" scope: the transaction commits before the response is sent, so a client that
# got a 2xx can rely on what it was told (its new session, its new document) being stored.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


def presented_credentials(request: Request) -> tuple[str | None, bool]:
    """The session token, and whether it came from the cookie (a bearer token wins)."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie, cookie is not None


def presented_token(request: Request) -> str | None:
    return presented_credentials(request)[0]


@dataclass(frozen=True, slots=True)
class Login:
    """A signed-in user and the login (session row) they are signed in with."""

    user: models.User
    session_id: str


async def login_for_token(session: AsyncSession, token: str) -> Login | None:
    result = await session.execute(
        select(models.User, models.Session.id)
        .join(models.Session, models.Session.user_id == models.User.id)
        .where(
            models.Session.token_hash == token_digest(token),
            logins.live(utcnow()),
        )
    )
    row = result.one_or_none()
    return Login(row[0], row[1]) if row is not None else None


async def get_current_login(request: Request, session: DbSession,
                            services: ServicesDep) -> Login:
    token, from_cookie = presented_credentials(request)
    if from_cookie:
        refuse_cross_site(request, services.settings.effective_origins)
    login = await login_for_token(session, token) if token else None
    if login is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Not signed in, or the session has expired",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return login


CurrentLogin = Annotated[Login, Depends(get_current_login)]


async def get_current_user(login: CurrentLogin) -> models.User:
    return login.user


CurrentUser = Annotated[models.User, Depends(get_current_user)]
