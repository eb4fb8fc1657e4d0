"""Route-side helpers that turn the policy's answers into refusals (`app.errors` answers
them)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.domain_errors import Forbidden, NotFound
from app.permissions import Access, document_access

NOT_FOUND = "Document not found"


async def require_access(session: AsyncSession, user: models.User, document_id: str) -> Access:
    """The caller's access, or the 404 that a missing document gets too."""
    access = await document_access(session, user.id, document_id)
    if access is None:
        raise NotFound(NOT_FOUND)
    return access


async def require_owner(session: AsyncSession, user: models.User, document_id: str) -> Access:
    access = await require_access(session, user, document_id)
    if not access.can_manage:
        raise Forbidden("owner-only", "Only the owner can do this")
    return access


def forbid(detail: str, code: str = "not-allowed") -> Forbidden:
    """A refusal for a member whose role does not allow this (`code` says which)."""
    return Forbidden(code, detail)
