"""The sharing log as one member sees it: the route `GET /documents/{id}/log` and the live
channel's `timeline` events render it the same way, through the policy's `LogReader`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.api.schemas import LogUserOut, SharingEventOut
from app.permissions import Access, LogReader


async def users_by_id(session: AsyncSession, ids: set[str | None]) -> dict[str, models.User]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u for u in await session.scalars(
        select(models.User).where(models.User.id.in_(wanted)))}


async def history(session: AsyncSession, document_id: str) -> list[models.SharingEvent]:
    return list(await session.scalars(
        select(models.SharingEvent).where(models.SharingEvent.document_id == document_id)
        .order_by(models.SharingEvent.at, models.SharingEvent.id)))


async def member_ids(session: AsyncSession, document_id: str) -> set[str]:
    return set(await session.scalars(
        select(models.Grant.user_id).where(models.Grant.document_id == document_id)))


async def render(session: AsyncSession, access: Access, events: Sequence[models.SharingEvent],
                 shown: Sequence[models.SharingEvent] | None = None) -> list[SharingEventOut]:
    """`shown` (default: all of `events`, the document's whole log) as `access` may see them."""
    shown = events if shown is None else shown
    members = await users_by_id(session, {access.document.owner_id,
                                          *await member_ids(session, access.document.id)})
    reader = LogReader.of(access, {u.id: u.email for u in members.values()}, events)
    views = [reader.view(e) for e in shown]
    users = await users_by_id(session, {u for v in views for u in (v.actor_id, v.subject_id)})

    def person(user_id: str | None) -> LogUserOut | None:
        if user_id is None or user_id not in users:
            return None
        found = users[user_id]
        return LogUserOut(id=found.id, name=found.name,
                          email=found.email if reader.shows_email_of(found.id) else None)

    return [
        SharingEventOut(
            id=e.id, at=e.at, kind=e.kind, actor=person(v.actor_id),
            subject=person(v.subject_id), subject_email=v.subject_email, role=e.role,
            sections=e.sections, reason=e.reason, message=v.message,
            invitation_id=e.invitation_id)
        for e, v in zip(shown, views, strict=True)]
