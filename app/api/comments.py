"""Comments (DESIGN §3 "Comments are server records"): threads anchored to a section's text,
suggested replacements, replies, and the decisions on them.

Whoever has no access gets the 404 of a missing document; a member whose role does not allow
an action gets 403; a decision the comment's state does not allow (already decided, a reply)
gets 409. The rules are in `app.permissions` and `app.comments`, whose refusals `app.errors`
answers; this module only serializes.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, BackgroundTasks, status
from sqlalchemy import select

from app import comment_notices, comments, models
from app.api.access import require_access
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.schemas import AnchorOut, CommentIn, CommentOut, CommentPatch, UserRef
from app.permissions import Access, CommentAction

router = APIRouter(prefix="/api/documents/{document_id}/comments", tags=["comments"])

_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "A member whose role does not allow this"},
    404: {"description": "No such document (or no access to it), or no such comment in it"},
}
_DECISION_ERRORS = _ERRORS | {409: {"description": "The comment's state does not allow this"}}


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode()


async def _outs(session: DbSession, access: Access, user: models.User,
                records: list[models.Comment]) -> list[CommentOut]:
    ids = {c.author_id for c in records} | {c.decided_by for c in records}
    wanted = {i for i in ids if i}
    names = dict((await session.execute(
        select(models.User.id, models.User.name).where(models.User.id.in_(wanted))
    )).all()) if wanted else {}

    def ref(user_id: str | None) -> UserRef | None:
        return UserRef(id=user_id, name=names[user_id]) if user_id in names else None

    return [
        CommentOut(
            id=c.id, document_id=c.document_id, section_id=c.section_id, parent_id=c.parent_id,
            author=ref(c.author_id), body=c.body, quote=c.quote,
            anchor=(AnchorOut(start=_b64(c.anchor_start), end=_b64(c.anchor_end))
                    if c.anchor_start is not None and c.anchor_end is not None else None),
            suggestion=c.suggestion, status=models.CommentStatus(c.status),
            decided_by=ref(c.decided_by), decided_at=c.decided_at, created_at=c.created_at,
            updated_at=c.updated_at, edited_at=c.edited_at,
            actions=comments.available_actions(access, user.id, c),
        )
        for c in records
    ]


async def _out(session: DbSession, access: Access, user: models.User,
               comment: models.Comment) -> CommentOut:
    return (await _outs(session, access, user, [comment]))[0]


@router.get("", response_model=list[CommentOut], responses=_ERRORS)
async def list_comments(document_id: str, user: CurrentUser,
                        session: DbSession) -> list[CommentOut]:
    """Every thread and reply of the document, oldest first, each with the `actions` the
    caller may take on it. Whoever reads the text reads them; `progress` members get 403."""
    access = await require_access(session, user, document_id)
    records = await comments.list_comments(session, access)
    return await _outs(session, access, user, records)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommentOut,
             responses=_ERRORS | {422: {"description": "Not a thread of this document's "
                                                       "sections, or a bad anchor or body"}})
async def create_comment(document_id: str, body: CommentIn, user: CurrentUser,
                         session: DbSession, services: ServicesDep,
                         tasks: BackgroundTasks) -> CommentOut:
    """Start a thread on a section's text (a comment, or a suggested replacement) or reply to
    one. The owner, editors (on every section) and reviewers may; the author is the caller.
    `mentions` (user ids) must be members who can read the text; they and the thread's author
    are notified."""
    access = await require_access(session, user, document_id)
    mentioned = await comment_notices.check_mentions(session, access, body.mentions)
    if body.parent_id is not None:
        comment = await comments.create_reply(session, access, user.id,
                                              parent_id=body.parent_id, body=body.body)
    else:
        assert body.section_id is not None and body.anchor is not None
        comment = await comments.create_comment(
            session, access, user.id, section_id=body.section_id,
            anchor=body.anchor.decoded(), quote=body.quote, body=body.body,
            suggestion=body.suggestion)
    await comment_notices.announce(session, services.settings, access, user, comment, mentioned)
    tasks.add_task(services.wake_mail)
    return await _out(session, access, user, comment)


@router.patch("/{comment_id}", response_model=CommentOut, responses=_ERRORS)
async def edit_comment(document_id: str, comment_id: str, body: CommentPatch,
                       user: CurrentUser, session: DbSession) -> CommentOut:
    """Change the body of one's own comment (only its author may)."""
    access = await require_access(session, user, document_id)
    comment = await comments.edit_comment(session, access, user.id, comment_id, body.body)
    return await _out(session, access, user, comment)


@router.delete("/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_comment(document_id: str, comment_id: str, user: CurrentUser,
                         session: DbSession) -> None:
    """Delete one's own comment (a thread goes with its replies); the owner may delete any."""
    access = await require_access(session, user, document_id)
    await comments.delete_comment(session, access, user.id, comment_id)


async def _decide(document_id: str, comment_id: str, action: CommentAction,
                  user: models.User, session: DbSession) -> CommentOut:
    access = await require_access(session, user, document_id)
    comment = await comments.decide(session, access, user.id, comment_id, action)
    return await _out(session, access, user, comment)


@router.post("/{comment_id}/accept", response_model=CommentOut, responses=_DECISION_ERRORS)
async def accept_suggestion(document_id: str, comment_id: str, user: CurrentUser,
                            session: DbSession) -> CommentOut:
    """Record that an open suggestion was accepted (by those who may write its section; the
    accepting client applies the replacement to the text itself)."""
    return await _decide(document_id, comment_id, CommentAction.ACCEPT, user, session)


@router.post("/{comment_id}/reject", response_model=CommentOut, responses=_DECISION_ERRORS)
async def reject_suggestion(document_id: str, comment_id: str, user: CurrentUser,
                            session: DbSession) -> CommentOut:
    """Reject an open suggestion (those who may write its section)."""
    return await _decide(document_id, comment_id, CommentAction.REJECT, user, session)


@router.post("/{comment_id}/resolve", response_model=CommentOut, responses=_DECISION_ERRORS)
async def resolve_comment(document_id: str, comment_id: str, user: CurrentUser,
                          session: DbSession) -> CommentOut:
    """Close an open thread (its author, or those who may write its section)."""
    return await _decide(document_id, comment_id, CommentAction.RESOLVE, user, session)


@router.post("/{comment_id}/reopen", response_model=CommentOut, responses=_DECISION_ERRORS)
async def reopen_comment(document_id: str, comment_id: str, user: CurrentUser,
                         session: DbSession) -> CommentOut:
    """Open a resolved thread or a rejected suggestion again (an accepted one is final)."""
    return await _decide(document_id, comment_id, CommentAction.REOPEN, user, session)
