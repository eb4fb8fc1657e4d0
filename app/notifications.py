"""Notifications: the one place one is made (`notify`), in the inbox and, by mail.

Kinds: `invited` (an invitation to my verified address), `invite_request` (an editor asks me,
the owner, to invite someone), `reply` (to my comment), `mention` (in a comment). Each lands in
the recipient's inbox; its mail goes out only to a verified address (mail to an address nobody
proved would tell its real holder about documents they were never let into), only if the
server mails, and only if the user has not switched that kind's mail off.

The live push of a new notification (the per-user event channel) belongs right after the
row is added in `notify`, once the transaction commits.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import models, outbox
from app.events import Audience, Change, stage
from app.models import new_id
from app.settings import Settings


class Kind(StrEnum):
    INVITED = "invited"
    INVITE_REQUEST = "invite_request"
    REPLY = "reply"
    MENTION = "mention"


_MAIL_SUBJECTS = {
    Kind.INVITED: "You are invited to a document on Widen",
    Kind.INVITE_REQUEST: "Someone asks you to invite a person on Widen",
    Kind.REPLY: "A reply to your comment on Widen",
    Kind.MENTION: "You were mentioned in a comment on Widen",
}


async def mail_opt_outs(session: AsyncSession, user_id: str) -> set[str]:
    return set(await session.scalars(
        select(models.MailOptOut.kind).where(models.MailOptOut.user_id == user_id)))


async def notify(session: AsyncSession, settings: Settings, *, recipient: models.User,
                 kind: Kind, text: str, path: str, document_id: str | None,
                 actor_id: str | None, mail: bool = True) -> models.Notification:
    """Put a notification in the recipient's inbox and, where allowed, queue its mail.
    `mail=False` when a mail saying the same already goes out (an invitation's own)."""
    notification = models.Notification(id=new_id(), user_id=recipient.id, kind=kind,
                                       text=text, path=path, document_id=document_id,
                                       actor_id=actor_id)
    session.add(notification)
    # The inbox of the addressee's open pages updates once this commits; nobody else hears.
    stage(session, Change(document_id or "", "notification",
                          {"notification": {"id": notification.id, "kind": kind, "text": text,
                                            "path": path}},
                          audience=Audience.NOBODY, also_tell=(recipient.id,)))
    if (mail and settings.sends_mail and recipient.email_verified_at is not None
            and kind not in await mail_opt_outs(session, recipient.id)):
        body = "\n".join([
            text, "", f"Open it: {settings.link_base}/{path}", "",
            "You can switch this kind of mail off on your Widen home page."])
        outbox.queue(session, to_address=recipient.email, subject=_MAIL_SUBJECTS[kind],
                     body=body)
    return notification
