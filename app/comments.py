"""Comments, suggestions and replies as server records (DESIGN §3 "Comments are server records").

The server is the truth of who wrote a comment and who decided it: authors and decisions are
set here from the signed-in user, never read from a request. Who may do what is the policy's
(`Access.can_comment`, `Access.comment_rights`); which state allows what is decided here. Every
function runs inside the caller's transaction and refuses with `app.domain_errors` kinds: a
role that does not allow it is `not-allowed`, a state that does not allow it `comment-state`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.domain_errors import Conflict, Forbidden, Invalid, NotFound
from app.events import comment_change, stage
from app.models import CommentStatus
from app.permissions import Access, CommentAction
from app.timeutil import utcnow

# A Yjs relative position is an item id (two varints) or a root name, and an assoc: tens of
# bytes. Anything much longer is not one.
MAX_ANCHOR_BYTES = 256
MAX_BODY_CHARS = 10_000
MAX_SUGGESTION_CHARS = 10_000
MAX_QUOTE_CHARS = 2_000

_DECISIONS = {
    CommentAction.ACCEPT: CommentStatus.ACCEPTED,
    CommentAction.REJECT: CommentStatus.REJECTED,
    CommentAction.RESOLVE: CommentStatus.RESOLVED,
    CommentAction.REOPEN: CommentStatus.OPEN,
}


# The codes of a refusal a client may act on.
NOT_ALLOWED = "not-allowed"
COMMENT_STATE = "comment-state"


@dataclass(frozen=True, slots=True)
class Anchor:
    start: bytes
    end: bytes


def _state_allows(comment: models.Comment, action: CommentAction) -> str | None:
    """Why `action` cannot happen to `comment` in its present state, or None if it can."""
    if action in (CommentAction.EDIT, CommentAction.DELETE):
        return None
    if comment.is_reply:
        return "A reply has no status of its own; act on its thread"
    status = CommentStatus(comment.status)
    if action is CommentAction.REPLY:
        return None
    if action in (CommentAction.ACCEPT, CommentAction.REJECT) and comment.suggestion is None:
        return "Only a suggestion can be accepted or rejected"
    if action is CommentAction.REOPEN:
        if status is CommentStatus.OPEN:
            return "The thread is open"
        if status is CommentStatus.ACCEPTED:
            return "An accepted suggestion is part of the text; suggest again instead"
        return None
    if status is not CommentStatus.OPEN:
        return f"The thread is already {status.value}"
    return None


def available_actions(access: Access, user_id: str,
                      comment: models.Comment) -> list[CommentAction]:
    """What the caller may do to `comment` right now: what a client should offer."""
    rights = access.comment_rights(user_id, comment)
    return [action for action in CommentAction
            if action in rights and _state_allows(comment, action) is None]


def _require_reader(access: Access) -> None:
    if not access.can_read_comments:
        raise Forbidden(NOT_ALLOWED,
                        "Your role follows progress only; comments are part of the text")


def _deleted_sections(document_id: str) -> Select[str]:
    return select(models.Section.id).where(models.Section.document_id == document_id,
                                           models.Section.deleted_at.is_not(None))


async def list_comments(session: AsyncSession, access: Access) -> list[models.Comment]:
    """Every comment and reply of the document, oldest first; those on a deleted section
    went with its text (the history that restores the text brings them back)."""
    _require_reader(access)
    return list(await session.scalars(
        select(models.Comment).where(
            models.Comment.document_id == access.document.id,
            models.Comment.section_id.not_in(_deleted_sections(access.document.id)))
        .order_by(models.Comment.created_at, models.Comment.id)))


async def get_comment(session: AsyncSession, access: Access, comment_id: str) -> models.Comment:
    _require_reader(access)
    comment = await session.get(models.Comment, comment_id)
    if comment is None or comment.document_id != access.document.id:
        raise NotFound("Comment not found")
    section = await session.get(models.Section, comment.section_id)
    if section is None or section.deleted_at is not None:
        raise NotFound("Comment not found")
    return comment


def _check_body(body: str, *, may_be_empty: bool) -> str:
    if not body.strip() and not may_be_empty:
        raise Invalid("body", "empty", "Write something: a comment or a reply cannot be empty")
    return body


async def create_comment(
    session: AsyncSession,
    access: Access,
    author_id: str,
    *,
    section_id: str,
    anchor: Anchor,
    quote: str,
    body: str,
    suggestion: str | None,
) -> models.Comment:
    """A new thread on a section's text: a comment, or a suggested replacement (whose note
    may be empty)."""
    _require_reader(access)
    if not access.can_comment:
        raise Forbidden(NOT_ALLOWED, "Your role can read comments but not write them")
    section = await session.get(models.Section, section_id)
    if (section is None or section.document_id != access.document.id
            or section.deleted_at is not None):
        raise Invalid("section_id", "unknown-section", "No such section in this document")
    comment = models.Comment(
        document_id=access.document.id, section_id=section_id, author_id=author_id,
        body=_check_body(body, may_be_empty=suggestion is not None), quote=quote,
        anchor_start=anchor.start, anchor_end=anchor.end, suggestion=suggestion,
        status=CommentStatus.OPEN,
    )
    await _insert(session, comment, "section_id", "The section was deleted meanwhile")
    stage(session, comment_change(comment, "created", author_id))
    return comment


async def create_reply(session: AsyncSession, access: Access, author_id: str, *,
                       parent_id: str, body: str) -> models.Comment:
    _require_reader(access)
    if not access.can_comment:
        raise Forbidden(NOT_ALLOWED, "Your role can read comments but not write them")
    parent = await session.get(models.Comment, parent_id)
    if parent is None or parent.document_id != access.document.id:
        raise Invalid("parent_id", "unknown-comment", "No such comment in this document")
    if parent.is_reply:
        raise Invalid("parent_id", "reply-to-reply", "Reply to the thread, not to a reply")
    if CommentAction.REPLY not in access.comment_rights(author_id, parent):
        raise Forbidden(NOT_ALLOWED, "You cannot reply to this comment")
    reply = models.Comment(
        document_id=access.document.id, section_id=parent.section_id, parent_id=parent.id,
        author_id=author_id, body=_check_body(body, may_be_empty=False),
        status=CommentStatus.OPEN,
    )
    await _insert(session, reply, "parent_id", "The thread was deleted meanwhile")
    stage(session, comment_change(reply, "created", author_id))
    return reply


async def _insert(session: AsyncSession, comment: models.Comment, field: str,
                  gone: str) -> None:
    """Add a comment; what it hangs on (a section, a thread) may have been deleted by a
    concurrent request since it was read, which the foreign keys catch."""
    session.add(comment)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Invalid(field, "gone", gone) from exc


async def edit_comment(session: AsyncSession, access: Access, user_id: str, comment_id: str,
                       body: str) -> models.Comment:
    comment = await get_comment(session, access, comment_id)
    if CommentAction.EDIT not in access.comment_rights(user_id, comment):
        raise Forbidden(NOT_ALLOWED, "Only its author can edit a comment")
    comment.body = _check_body(body, may_be_empty=comment.suggestion is not None)
    comment.edited_at = comment.updated_at = utcnow()
    stage(session, comment_change(comment, "edited", user_id))
    return comment


async def delete_comment(session: AsyncSession, access: Access, user_id: str,
                         comment_id: str) -> None:
    """Delete a comment; a thread goes with its replies."""
    comment = await get_comment(session, access, comment_id)
    if CommentAction.DELETE not in access.comment_rights(user_id, comment):
        raise Forbidden(NOT_ALLOWED, "Only its author or the document's owner can delete a comment")
    await session.execute(delete(models.Comment).where(models.Comment.parent_id == comment.id))
    await session.delete(comment)
    stage(session, comment_change(comment, "deleted", user_id))


async def decide(session: AsyncSession, access: Access, user_id: str, comment_id: str,
                 action: CommentAction) -> models.Comment:
    """Accept, reject, resolve or reopen a thread; the server records who and when.

    Accepting records the decision only: the text changes through the CRDT, by the accepter's
    own client, which may write that section (the policy makes sure of it)."""
    if action not in _DECISIONS:
        raise ValueError(f"not a decision: {action}")
    comment = await get_comment(session, access, comment_id)
    if action not in access.comment_rights(user_id, comment):
        raise Forbidden(NOT_ALLOWED, _FORBIDDEN[action])
    if (why := _state_allows(comment, action)) is not None:
        raise Conflict(COMMENT_STATE, why)
    now = utcnow()
    decided = action is not CommentAction.REOPEN
    # Only from the status just checked: of two concurrent decisions, one takes effect and the
    # other is told it came too late.
    changed = await session.execute(
        update(models.Comment)
        .where(models.Comment.id == comment.id, models.Comment.status == comment.status)
        .values(status=_DECISIONS[action], decided_by=user_id if decided else None,
                decided_at=now if decided else None, updated_at=now)
        .execution_options(synchronize_session=False))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(COMMENT_STATE, "Someone else decided it meanwhile")
    await session.refresh(comment)
    stage(session, comment_change(comment, "decided", user_id))
    return comment


_FORBIDDEN = {
    CommentAction.ACCEPT: "Only those who may edit this section accept its suggestions",
    CommentAction.REJECT: "Only those who may edit this section reject its suggestions",
    CommentAction.RESOLVE: "Only its author, or those who may edit this section, resolve it",
    CommentAction.REOPEN: "Only those who may edit this section, or the author of a resolved "
                          "comment, reopen it",
}
