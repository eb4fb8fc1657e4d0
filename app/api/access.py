"""Route-side helpers that turn the policy's answers into HTTP answers."""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.errors import Refusal
from app.permissions import Access, document_access

NOT_FOUND = "Document not found"


async def require_access(session: AsyncSession, user: models.User, document_id: str) -> Access:
    """The caller's access, or the 404 that a missing document gets too."""
    access = await document_access(session, user.id, document_id)
    if access is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return access


async def require_owner(session: AsyncSession, user: models.User, document_id: str) -> Access:
    access = await require_access(session, user, document_id)
    if not access.can_manage:
        raise Refusal(status.HTTP_403_FORBIDDEN, "owner-only", "Only the owner can do this")
    return access


def forbid(detail: str, code: str = "not-allowed") -> Refusal:
    """A 403 for a member whose role does not allow this (`code` says which refusal)."""
    return Refusal(status.HTTP_403_FORBIDDEN, code, detail)
