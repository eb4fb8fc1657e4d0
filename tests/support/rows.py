"""Rows written straight through the models, for in-process tests of what reads them (no
server, no argon2 hash: the password is never checked)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app import models


async def owned_document(session: AsyncSession, title: str) -> models.Document:
    """A document of a new user of its own, flushed (its id and `owner_id` are set)."""
    user = models.User(email=f"{models.new_id()}@example.org", name="Owner",
                       password_hash="x")
    session.add(user)
    await session.flush()
    document = models.Document(owner_id=user.id, title=title)
    session.add(document)
    await session.flush()
    return document
