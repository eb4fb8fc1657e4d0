"""Who is knocking at `/ws/{document_id}`, and may they open its text: many sockets at once.

One transaction checks a whole batch (`app.admission`) in at most six statements: spend the
tickets presented, read their users and whether their logins are still active, find the
logins behind the cookies presented, then the documents and grants. Each socket gets the
verdict a check of its own would have given, refusals in the same order: a bad credential
before a missing grant.

The check is synchronous code. On SQLite it runs on a thread of its own with its own
connection: one hop from the event loop per batch. Through aiosqlite each statement took three
hops, and in a reconnect storm every hop waited for a loop busy with thousands of handshakes:
a batch took seconds. On PostgreSQL it runs through the async session (`run_sync`), a round
trip per statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app import logins, models
from app.close_codes import AccessCloseCode
from app.permissions import Access, Role, accesses
from app.security import token_digest
from app.timeutil import utcnow
from crdt.guard import WriteScope


@dataclass(frozen=True, slots=True)
class Knock:
    document_id: str
    # A client that cannot send cookies passes `?ticket=`; it wins over a cookie.
    ticket: str | None
    cookie: str | None
    origin: str


@dataclass(frozen=True, slots=True)
class Admitted:
    """What an open socket keeps of its admission, for as long as it is open: plain values,
    not the database rows they came from (a socket held its user and document rows, about
    1.5 KB each of 10,000 idle sockets)."""

    user_id: str
    user_name: str
    # The login the socket belongs to: signing out closes it.
    login_id: str | None
    role: Role
    write_scope: WriteScope


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
    user_id: str
    user_name: str
    login_id: str | None


class KnockChecker:
    """What `AdmissionGate` calls with each batch. `thread_engine`: a synchronous engine on
    the same SQLite database, used from one thread of its own."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 allowed_origins: Collection[str], *, thread_engine: Engine | None) -> None:
        self._sessions = sessions
        self._allowed_origins = frozenset(allowed_origins)
        self._thread_engine = thread_engine
        self._thread = (ThreadPoolExecutor(1, thread_name_prefix="widen-admission")
                        if thread_engine is not None else None)

    async def __call__(self, knocks: Sequence[Knock]) -> list[Verdict]:
        if self._thread is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._check_on_thread, knocks)
        async with self._sessions() as session, session.begin():
            return await session.run_sync(check_knocks, self._allowed_origins, knocks)

    def _check_on_thread(self, knocks: Sequence[Knock]) -> list[Verdict]:
        with Session(self._thread_engine, expire_on_commit=False) as session, session.begin():
            return check_knocks(session, self._allowed_origins, knocks)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)


def check_knocks(session: Session, allowed_origins: Collection[str],
                 knocks: Sequence[Knock]) -> list[Verdict]:
    """The verdicts on `knocks`, in order, in the caller's transaction."""
    by_ticket = _spend_tickets(session, [k for k in knocks if k.ticket])
    by_cookie = _logins_by_cookie(session, {k.cookie for k in knocks if not k.ticket and k.cookie})
    holders: list[_Login | Refused] = []
    for knock in knocks:
        if knock.ticket:
            holders.append(by_ticket.pop((knock.ticket, knock.document_id), _NOT_FOUND))
        elif (login := by_cookie.get(knock.cookie or "")) is None:
            holders.append(_SIGNED_OUT)
        elif knock.origin not in allowed_origins:
            holders.append(_BAD_ORIGIN)
        else:
            holders.append(login)
    granted = accesses(session, {
        (login.user_id, knock.document_id)
        for knock, login in zip(knocks, holders, strict=True) if isinstance(login, _Login)})
    return [_verdict(knock, login, granted) for knock, login in zip(knocks, holders, strict=True)]


def _verdict(knock: Knock, login: _Login | Refused,
             granted: dict[tuple[str, str], Access]) -> Verdict:
    if isinstance(login, Refused):
        return login
    access = granted.get((login.user_id, knock.document_id))
    if access is None:
        return _NOT_FOUND
    if not access.can_open_socket:
        return _PROGRESS_ONLY
    return Admitted(login.user_id, login.user_name, login.login_id, access.role,
                    access.write_scope())


def _spend_tickets(session: Session, knocks: Sequence[Knock]) -> dict[tuple[str, str], _Login]:
    """Mark each valid ticket used (it opens one socket) and say whose it is, by (ticket,
    document id). A ticket lives no longer than its login (tickets from before logins were
    recorded have none, and last their minute); one presented twice in a batch is spent by
    the first."""
    if not knocks:
        return {}
    digest_of = {k.ticket: token_digest(k.ticket) for k in knocks if k.ticket}
    ticket_of = {digest: ticket for ticket, digest in digest_of.items()}
    now = utcnow()
    spent = (session.execute(
        update(models.WsTicket)
        .where(tuple_(models.WsTicket.token_hash, models.WsTicket.document_id).in_(
                   {(digest_of[k.ticket], k.document_id) for k in knocks if k.ticket}),
               models.WsTicket.used_at.is_(None),
               models.WsTicket.expires_at > now)
        .values(used_at=now)
        .returning(models.WsTicket.token_hash, models.WsTicket.document_id,
                   models.WsTicket.user_id, models.WsTicket.session_id)
        .execution_options(synchronize_session=False))).all()
    if not spent:
        return {}
    names = dict(session.execute(
        select(models.User.id, models.User.name)
        .where(models.User.id.in_({row.user_id for row in spent}))).all())
    login_ids = {row.session_id for row in spent if row.session_id is not None}
    active = set(session.scalars(
        select(models.Session.id).where(models.Session.id.in_(login_ids),
                                        logins.live(now)))) if login_ids else set()
    return {
        (ticket_of[row.token_hash], row.document_id):
            _Login(row.user_id, names[row.user_id], row.session_id)
        for row in spent
        if row.user_id in names and (row.session_id is None or row.session_id in active)
    }


def _logins_by_cookie(session: Session, cookies: set[str]) -> dict[str, _Login]:
    if not cookies:
        return {}
    cookie_of = {token_digest(cookie): cookie for cookie in cookies}
    rows = session.execute(
        select(models.User.id, models.User.name, models.Session.id, models.Session.token_hash)
        .join(models.Session, models.Session.user_id == models.User.id)
        .where(models.Session.token_hash.in_(cookie_of), logins.live(utcnow())))
    return {cookie_of[token_hash]: _Login(user_id, name, login_id)
            for user_id, name, login_id, token_hash in rows}
