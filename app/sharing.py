"""How a document widens, the shared part: the append-only sharing log, and the rules every
sharing step applies (who is a member, who proved an address, what a scope may name).

The steps themselves are in `app.invitations`, `app.membership` and `app.invite_requests`.
Every function there and here runs inside the caller's transaction, so a step and its log row
are stored together or not at all, and raises only `app.domain_errors` kinds. Nothing updates
or deletes a `SharingEvent`.

A step that concurrent requests could both take (answering an invitation, deciding a
request, removing a member, transferring ownership) is one conditional statement
(`UPDATE ... WHERE status = 'pending'`, `DELETE ... WHERE` it still exists): the database
re-checks the condition under the row's write lock (PostgreSQL) or the database write lock
(SQLite), so exactly one request takes the step and logs it; the others get a 409 or 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, models
from app.domain_errors import Conflict, Invalid
from app.models import SharingEventKind
from app.permissions import Role
from app.timeutil import utcnow

# What waits for an answer: an invitation (accepted, declined...) or an invite request
# (approved, refused).
Pending = TypeVar("Pending", models.Invitation, models.InviteRequest)
# Both wait under the same word.
_PENDING = models.InvitationStatus.PENDING.value
assert models.InviteRequestStatus.PENDING.value == _PENDING


async def settle_once(session: AsyncSession, pending: Pending, outcome: str, *,
                      stamp: str, named: str) -> None:
    """`pending` takes `outcome` (and the time in its column `stamp`) exactly once: of
    concurrent answers one wins, and the others are told what became of it, `named` as the
    message calls it ("This invitation")."""
    model = type(pending)
    settled = await session.execute(
        update(model)
        .where(model.id == pending.id, model.status == _PENDING)
        .values({"status": outcome, stamp: utcnow()})
        .returning(model.id)
        .execution_options(synchronize_session="fetch"))
    if settled.first() is None:
        await session.refresh(pending)
        raise Conflict("already-settled", f"{named} is already {pending.status}")


def record(
    session: AsyncSession,
    document_id: str,
    kind: SharingEventKind,
    *,
    actor_id: str | None,
    at: datetime | None = None,
    subject_id: str | None = None,
    subject_email: str | None = None,
    role: str | None = None,
    sections: list[str] | None = None,
    reason: str | None = None,
    message: str | None = None,
    invitation_id: str | None = None,
) -> None:
    event = models.SharingEvent(
        document_id=document_id, kind=kind, actor_id=actor_id, at=at or utcnow(),
        subject_id=subject_id, subject_email=subject_email, role=role, sections=sections,
        reason=reason, message=message, invitation_id=invitation_id,
    )
    session.add(event)
    events.stage_log_step(session, event)


def record_invitation_step(
    session: AsyncSession,
    invitation: models.Invitation,
    kind: SharingEventKind,
    *,
    actor_id: str | None,
    subject_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Log what happened to an invitation, carrying its role, scope and reason along."""
    record(session, invitation.document_id, kind, actor_id=actor_id, at=at,
           subject_id=subject_id, subject_email=invitation.email, role=invitation.role,
           sections=invitation.sections, reason=invitation.reason,
           invitation_id=invitation.id)


async def check_sections(
    session: AsyncSession, document_id: str, role: str, sections: list[str] | None
) -> list[str] | None:
    """Sections scope only an editor, and must be sections of this document."""
    if sections is None:
        return None
    if role != Role.EDITOR:
        raise Invalid("sections", "editor-only", "Only an editor can be limited to sections")
    if not sections:
        raise Invalid("sections", "empty",
                      "List at least one section, or leave sections out for all")
    unique = sorted(set(sections))
    found = set(await session.scalars(
        select(models.Section.id).where(models.Section.document_id == document_id,
                                        models.Section.id.in_(unique),
                                        models.Section.deleted_at.is_(None))
    ))
    if missing := [s for s in unique if s not in found]:
        raise Invalid("sections", "unknown-section",
                      f"No such section in this document: {', '.join(missing)}")
    return unique


def proves_address(user: models.User, email: str) -> bool:
    """Whether the user has shown they hold `email`: only then does what was sent to the
    address reach them without its link (DESIGN §8). Registering an address proves nothing."""
    return user.email == email and user.email_verified_at is not None


async def member_grant(session: AsyncSession, document_id: str,
                       user_id: str) -> models.Grant | None:
    return await session.scalar(select(models.Grant).where(
        models.Grant.document_id == document_id, models.Grant.user_id == user_id))
