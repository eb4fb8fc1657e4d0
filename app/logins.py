"""Logins in the database: which still let their holder in, and ending one (sign out) or all
of a user's (a password reset)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.timeutil import utcnow


def live(now: datetime) -> ColumnElement[bool]:
    """What a login still letting its holder in is: neither signed out nor expired."""
    return and_(models.Session.revoked_at.is_(None), models.Session.expires_at > now)


async def revoke(session: AsyncSession, session_id: str) -> None:
    """End one login and its unused websocket tickets; its open sockets are the caller's to
    close once this commits."""
    now = utcnow()
    await session.execute(
        update(models.Session).where(models.Session.id == session_id).values(revoked_at=now))
    await session.execute(
        update(models.WsTicket)
        .where(models.WsTicket.session_id == session_id, models.WsTicket.used_at.is_(None))
        .values(used_at=now))


async def revoke_all(session: AsyncSession, user_id: str) -> list[str]:
    """End every live login of the user and every unused websocket ticket, returning the
    logins' ids so their open sockets can be closed once this commits."""
    now = utcnow()
    revoked = await session.scalars(
        update(models.Session)
        .where(models.Session.user_id == user_id, models.Session.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(models.Session.id)
        .execution_options(synchronize_session=False))
    ids = list(revoked.all())
    await session.execute(
        update(models.WsTicket)
        .where(models.WsTicket.user_id == user_id, models.WsTicket.used_at.is_(None))
        .values(used_at=now))
    return ids
