"""Who is knocking at `/ws/{document_id}`, and may they open its text: many sockets at once.

One transaction checks a whole batch (`app.admission`) in at most six statements: spend the
tickets presented, read their users and whether their logins are still active, find the
logins behind the cookies presented, then the documents and grants. Each socket gets the
verdict a check of its own would have given, refusals in the same order: a bad credential
before a missing grant.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.close_codes import AccessCloseCode
from app.permissions import Access, accesses
from app.security import token_digest
from app.timeutil import utcnow


@dataclass(frozen=True, slots=True)
class Knock:
    document_id: str
    # A client that cannot send cookies passes `?ticket=`; it wins over a cookie.
    ticket: str | None
    cookie: str | None
    origin: str


@dataclass(frozen=True, slots=True)
class Admitted:
    user: models.User
    # The login the socket belongs to: signing out closes it.
    login_id: str | None
    access: Access


@dataclass(frozen=True, slots=True)
class Refused:
    code: int
    reason: str


Verdict = Admitted | Refused

_NOT_FOUND = Refused(AccessCloseCode.NOT_FOUND, "not-found")
_SIGNED_OUT = Refused(AccessCloseCode.UNAUTHORIZED, "signed-out: not signed in")
_BAD_ORIGIN = Refused(AccessCloseCode.FORBIDDEN, "origin: origin not allowed")
_PROGRESS_ONLY = Refused(AccessCloseCode.FORBIDDEN,
                         "progress-only: your role sees progress, not the text")


@dataclass(frozen=True, slots=True)
class _Login:
    user: models.User
    login_id: str | None


async def check_knocks(sessions: Callable[[], AsyncSession], allowed_origins: Collection[str],
                       knocks: Sequence[Knock]) -> list[Verdict]:
    async with sessions() as session, session.begin():
        by_ticket = await _spend_tickets(session, [k for k in knocks if k.ticket])
        by_cookie = await _logins_by_cookie(
            session, {k.cookie for k in knocks if not k.ticket and k.cookie})
        logins: list[_Login | Refused] = []
        for knock in knocks:
            if knock.ticket:
                logins.append(by_ticket.pop((knock.ticket, knock.document_id), _NOT_FOUND))
            elif (login := by_cookie.get(knock.cookie or "")) is None:
                logins.append(_SIGNED_OUT)
            elif knock.origin not in allowed_origins:
                logins.append(_BAD_ORIGIN)
            else:
                logins.append(login)
        granted = await accesses(session, {
            (login.user.id, knock.document_id)
            for knock, login in zip(knocks, logins, strict=True) if isinstance(login, _Login)})
    return [_verdict(knock, login, granted) for knock, login in zip(knocks, logins, strict=True)]


def _verdict(knock: Knock, login: _Login | Refused,
             granted: dict[tuple[str, str], Access]) -> Verdict:
    if isinstance(login, Refused):
        return login
    access = granted.get((login.user.id, knock.document_id))
    if access is None:
        return _NOT_FOUND
    if not access.can_open_socket:
        return _PROGRESS_ONLY
    return Admitted(login.user, login.login_id, access)


async def _spend_tickets(session: AsyncSession,
                         knocks: Sequence[Knock]) -> dict[tuple[str, str], _Login]:
    """Mark each valid ticket used (it opens one socket) and say whose it is, by (ticket,
    document id). A ticket lives no longer than its login (tickets from before logins were
    recorded have none, and last their minute); one presented twice in a batch is spent by
    the first."""
    if not knocks:
        return {}
    ticket_of = {token_digest(k.ticket or ""): k.ticket or "" for k in knocks}
    now = utcnow()
    spent = (await session.execute(
        update(models.WsTicket)
        .where(tuple_(models.WsTicket.token_hash, models.WsTicket.document_id).in_(
                   {(token_digest(k.ticket or ""), k.document_id) for k in knocks}),
               models.WsTicket.used_at.is_(None),
               models.WsTicket.expires_at > now)
        .values(used_at=now)
        .returning(models.WsTicket.token_hash, models.WsTicket.document_id,
                   models.WsTicket.user_id, models.WsTicket.session_id)
        .execution_options(synchronize_session=False))).all()
    if not spent:
        return {}
    users = {user.id: user for user in await session.scalars(
        select(models.User).where(models.User.id.in_({row.user_id for row in spent})))}
    login_ids = {row.session_id for row in spent if row.session_id is not None}
    active = set(await session.scalars(
        select(models.Session.id).where(models.Session.id.in_(login_ids),
                                        models.Session.revoked_at.is_(None),
                                        models.Session.expires_at > now))) if login_ids else set()
    return {
        (ticket_of[row.token_hash], row.document_id): _Login(users[row.user_id], row.session_id)
        for row in spent
        if row.user_id in users and (row.session_id is None or row.session_id in active)
    }


async def _logins_by_cookie(session: AsyncSession, cookies: set[str]) -> dict[str, _Login]:
    if not cookies:
        return {}
    cookie_of = {token_digest(cookie): cookie for cookie in cookies}
    rows = await session.execute(
        select(models.User, models.Session.id, models.Session.token_hash)
        .join(models.Session, models.Session.user_id == models.User.id)
        .where(models.Session.token_hash.in_(cookie_of),
               models.Session.revoked_at.is_(None),
               models.Session.expires_at > utcnow()))
    return {cookie_of[token_hash]: _Login(user, login_id) for user, login_id, token_hash in rows}
