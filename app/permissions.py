"""The one place that decides who may do what with a document.

Routes and the websocket ask here; none decides for itself. A user without access gets `None`,
which every caller turns into the same 404 as for a document that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Document


class Role(StrEnum):
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Access:
    document: Document
    role: Role

    @property
    def can_manage(self) -> bool:
        """Rename, delete, and (later) share."""
        return self.role is Role.OWNER

    @property
    def can_open_socket(self) -> bool:
        return True


async def document_access(session: AsyncSession, user_id: str, document_id: str) -> Access | None:
    document = await session.get(Document, document_id)
    if document is None:
        return None
    if document.owner_id == user_id:
        return Access(document, Role.OWNER)
    return None


async def accessible_documents(session: AsyncSession, user_id: str) -> list[Access]:
    result = await session.scalars(
        select(Document).where(Document.owner_id == user_id).order_by(Document.updated_at.desc())
    )
    return [Access(document, Role.OWNER) for document in result]
