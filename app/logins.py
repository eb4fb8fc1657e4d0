"""Ending logins in the database: one (sign out) or all of a user's (a password reset)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.timeutil import utcnow


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
