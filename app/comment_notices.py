"""Who hears of a new comment: the author of the thread replied to, and whoever is mentioned.

A mention names members who can read the text (the comment quotes it): anyone else is refused
rather than told, so a comment never carries text to someone who may not see it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.domain_errors import Invalid
from app.notifications import Kind, notify
from app.permissions import Access, document_access
from app.settings import Settings

_EXCERPT = 200


async def _reader(session: AsyncSession, user_id: str, document_id: str) -> models.User | None:
    access = await document_access(session, user_id, document_id)
    if access is None or not access.can_read_comments:
        return None
    return await session.get(models.User, user_id)


async def check_mentions(session: AsyncSession, access: Access,
                         mentions: list[str]) -> list[models.User]:
    readers: list[models.User] = []
    for user_id in dict.fromkeys(mentions):
        reader = await _reader(session, user_id, access.document.id)
        if reader is None:
            raise Invalid("mentions", "not-a-reader",
                          "Only members who can read the text can be mentioned")
        readers.append(reader)
    return readers


async def announce(session: AsyncSession, settings: Settings, access: Access,
                   author: models.User, comment: models.Comment,
                   mentioned: list[models.User]) -> None:
    title = access.document.title
    excerpt = comment.body if len(comment.body) <= _EXCERPT else comment.body[:_EXCERPT] + "…"
    path = f"#/d/{access.document.id}"
    told = {author.id}
    if comment.parent_id is not None:
        parent = await session.get(models.Comment, comment.parent_id)
        thread_author = parent.author_id if parent is not None else None
        if thread_author is not None and thread_author not in told:
            reader = await _reader(session, thread_author, access.document.id)
            if reader is not None:
                told.add(reader.id)
                await notify(session, settings, recipient=reader, kind=Kind.REPLY,
                             text=f"{author.name} replied to your comment in “{title}”: "
                                  f"{excerpt}",
                             path=path, document_id=access.document.id, actor_id=author.id)
    for reader in mentioned:
        if reader.id in told:
            continue
        told.add(reader.id)
        await notify(session, settings, recipient=reader, kind=Kind.MENTION,
                     text=f"{author.name} mentioned you in “{title}”: {excerpt}",
                     path=path, document_id=access.document.id, actor_id=author.id)
