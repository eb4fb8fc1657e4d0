"""The in-app inbox of notifications, which kinds also come by mail, and whom a comment may
mention. Every notification is made by `app.notifications.notify`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import delete, select, update

from app import models
from app.api.access import forbid, require_access
from app.api.deps import CurrentUser, DbSession
from app.api.schemas import NotificationMailIn, NotificationMailOut, NotificationOut, UserOut
from app.notifications import Kind, mail_opt_outs
from app.permissions import Role
from app.timeutil import utcnow

router = APIRouter(prefix="/api", tags=["notifications"])
_INBOX_SIZE = 100


@router.get("/notifications", response_model=list[NotificationOut])
async def my_notifications(user: CurrentUser, session: DbSession) -> list[models.Notification]:
    """My latest notifications, newest first."""
    return list(await session.scalars(
        select(models.Notification).where(models.Notification.user_id == user.id)
        .order_by(models.Notification.created_at.desc()).limit(_INBOX_SIZE)))


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
async def mark_read(notification_id: str, user: CurrentUser,
                    session: DbSession) -> models.Notification:
    notification = await session.get(models.Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Notification not found")
    if notification.read_at is None:
        await session.execute(update(models.Notification)
                              .where(models.Notification.id == notification.id)
                              .values(read_at=utcnow()))
        await session.refresh(notification)
    return notification


async def _mail_choices(session: DbSession, user_id: str) -> NotificationMailOut:
    off = await mail_opt_outs(session, user_id)
    return NotificationMailOut(**{kind.value: kind.value not in off for kind in Kind})


@router.get("/notifications/mail", response_model=NotificationMailOut)
async def mail_choices(user: CurrentUser, session: DbSession) -> NotificationMailOut:
    return await _mail_choices(session, user.id)


@router.patch("/notifications/mail", response_model=NotificationMailOut)
async def change_mail_choices(body: NotificationMailIn, user: CurrentUser,
                              session: DbSession) -> NotificationMailOut:
    """Switch a kind's mail on or off; the inbox keeps every kind regardless."""
    off = await mail_opt_outs(session, user.id)
    for kind in Kind:
        wanted = getattr(body, kind.value)
        if wanted is True and kind.value in off:
            await session.execute(delete(models.MailOptOut).where(
                models.MailOptOut.user_id == user.id, models.MailOptOut.kind == kind.value))
        elif wanted is False and kind.value not in off:
            session.add(models.MailOptOut(user_id=user.id, kind=kind.value))
    await session.flush()
    return await _mail_choices(session, user.id)


@router.get("/documents/{document_id}/mentionable", response_model=list[UserOut])
async def mentionable(document_id: str, user: CurrentUser,
                      session: DbSession) -> list[models.User]:
    """Whom a comment here may mention: members who can read the text (never a `progress`
    member). Asked by those who may comment."""
    access = await require_access(session, user, document_id)
    if not access.can_comment:
        raise forbid("Your role cannot write comments")
    readers = select(models.Grant.user_id).where(models.Grant.document_id == document_id,
                                                 models.Grant.role != Role.PROGRESS)
    return list(await session.scalars(
        select(models.User).where((models.User.id == access.document.owner_id)
                                  | models.User.id.in_(readers))
        .order_by(models.User.name)))
