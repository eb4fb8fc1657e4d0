"""Who is a member and how: the owner changes a member's role or scope, revokes them, or hands
the document on; a member leaves. Who may do which is the policy's (`app.permissions`).

The live side (narrowing open connections before commit, setting them after) is the caller's:
it needs the running server, these functions only the transaction.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.domain_errors import Conflict, Forbidden, NotFound
from app.models import SharingEventKind
from app.permissions import Access, Role
from app.sharing import check_sections, member_grant, record
from app.timeutil import utcnow

NOT_A_MEMBER = "Not a member of this document"


async def grant_of(session: AsyncSession, document_id: str, user_id: str) -> models.Grant:
    grant = await member_grant(session, document_id, user_id)
    if grant is None:
        raise NotFound(NOT_A_MEMBER)
    return grant


async def change_member(session: AsyncSession, document_id: str, owner_id: str,
                        member_id: str, *, role: str | None, sections: list[str] | None,
                        sections_given: bool) -> models.Grant:
    """A new role, scope or both. Without `sections_given` an editor keeps their scope and
    any other role has none; the log says what changed, a role before a scope."""
    grant = await grant_of(session, document_id, member_id)
    role = role or grant.role
    if not sections_given:
        sections = grant.sections if role == Role.EDITOR else None
    sections = await check_sections(session, document_id, role, sections)
    role_changed, scope_changed = role != grant.role, sections != grant.sections
    grant.role, grant.sections, grant.updated_at = role, sections, utcnow()
    if role_changed or scope_changed:
        kind = SharingEventKind.ROLE_CHANGED if role_changed else SharingEventKind.SCOPE_CHANGED
        record(session, document_id, kind, actor_id=owner_id, subject_id=member_id,
               role=role, sections=sections)
    return grant


async def _remove_grant(session: AsyncSession, document_id: str,
                        user_id: str) -> tuple[str, list[str] | None]:
    """Delete a member's grant, returning the role and sections it had; not found if there
    is none (never was, or a concurrent request removed it first)."""
    removed = (await session.execute(
        delete(models.Grant)
        .where(models.Grant.document_id == document_id, models.Grant.user_id == user_id)
        .returning(models.Grant.role, models.Grant.sections)
        .execution_options(synchronize_session="fetch"))).first()
    if removed is None:
        raise NotFound(NOT_A_MEMBER)
    return removed.role, removed.sections


async def remove_member(session: AsyncSession, access: Access, actor_id: str,
                        member_id: str) -> None:
    """The owner revokes a member, or a member leaves."""
    leaving = member_id == actor_id
    if leaving and not access.can_leave:
        raise Conflict("owner-cannot-leave", "The owner cannot leave; transfer ownership first")
    if not leaving and not access.can_manage:
        raise Forbidden("owner-only", "Only the owner can remove members")
    document_id = access.document.id
    role, sections = await _remove_grant(session, document_id, member_id)
    record(session, document_id,
           SharingEventKind.LEFT if leaving else SharingEventKind.REVOKED,
           actor_id=actor_id, subject_id=member_id, role=role, sections=sections)


async def transfer_ownership(session: AsyncSession, document: models.Document, owner_id: str,
                             new_owner_id: str) -> None:
    """Make a member the owner and the old owner a whole-document editor. The owner changes
    only from `owner_id`, so of concurrent transfers exactly one takes effect."""
    await grant_of(session, document.id, new_owner_id)  # not found before anything changes
    moved = await session.execute(
        update(models.Document)
        .where(models.Document.id == document.id, models.Document.owner_id == owner_id)
        .values(owner_id=new_owner_id, updated_at=utcnow())
        .returning(models.Document.id)
        .execution_options(synchronize_session="fetch"))
    if moved.first() is None:
        raise Conflict("conflict", "The document changed owner meanwhile; reload and try again")
    await _remove_grant(session, document.id, new_owner_id)
    session.add(models.Grant(document_id=document.id, user_id=owner_id, role=Role.EDITOR))
    await session.flush()
    record(session, document.id, SharingEventKind.OWNERSHIP_TRANSFERRED, actor_id=owner_id,
           subject_id=new_owner_id, role=Role.OWNER)
