"""What open pages hear of (DESIGN §8 "one live event channel per signed-in user").

A change is *staged* on the request's database session while the request makes it, and
published by `app.event_fanout` only once that transaction has committed (`app.api.deps.get_db`):
a rolled-back change is never heard of. Who hears it, and how much, is decided at publishing
time against the committed state, by `Audience` and the policy module.

Events on the wire are JSON objects `{"type": ..., "document_id": ..., ...}`; by type, with
its `change` and fields, and who hears it:
- `document`: `created`, `renamed` (`title`), `deleted`; every member.
- `section`: `added`, `updated` (`fields`), `removed` (`deleted_by`: id, name), `reordered`;
  every member.
- `member`: `joined`, `changed`, `removed` (`user_id`, `role`, `how`: the log step); every
  member, and the one removed.
- `invitation`: `invited`, `accepted`, `declined`, `withdrawn`, `expired` (`invitation_id`);
  `mail` (`invitation_id`, `mail`: `sent`, `retrying` or `failed`, what became of its mail, as
  `app.outbox` records it); the owner.
- `invite_request`: `requested`, `approved`, `refused` (`requester_id`); the owner and the
  requester.
- `comment`: `created`, `edited`, `decided`, `deleted` (`actor_id`; `comment`: id, section_id,
  parent_id, author_id, status, body); members who read the text (never a `progress` member).
- `progress`: words, contributors or statuses changed; every member.
- `timeline`: `entry`, the sharing-log step exactly as that member's `GET .../log` shows it;
  every member.
- `notification`: a new entry in the inbox (`notification`: id, kind, text, path); its
  addressee only (`app.notifications.notify`).

The channel itself says `{"type": "ready"}` once it listens: anything changed after that arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import models
from app.models import INVITATION_STEPS, SharingEventKind

_STAGED = "widen.live_changes"


class Audience(Enum):
    MEMBERS = "members"
    TEXT_READERS = "text_readers"
    OWNER = "owner"
    NOBODY = "nobody"  # only `also_tell`


@dataclass(frozen=True, slots=True)
class Change:
    document_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    audience: Audience = Audience.MEMBERS
    # Told whatever the audience says: someone who just lost access, a requester.
    also_tell: tuple[str, ...] = ()
    # The members as they were before the change, for a document that no longer exists.
    former_members: tuple[str, ...] | None = None
    # A sharing-log step, rendered for each member as their own log view shows it.
    log_event: models.SharingEvent | None = None


def stage(session: AsyncSession, change: Change) -> None:
    """Publish `change` once the session's transaction commits (never if it rolls back)."""
    session.info.setdefault(_STAGED, []).append(change)


def staged(session: AsyncSession) -> list[Change]:
    """What the committed transaction changed, taken off the session."""
    changes: list[Change] = session.info.pop(_STAGED, [])
    return changes


# Sharing-log steps that change who is a member, as `member` events.
_MEMBER_CHANGES = {
    SharingEventKind.ACCEPTED: "joined", SharingEventKind.ROLE_CHANGED: "changed",
    SharingEventKind.SCOPE_CHANGED: "changed", SharingEventKind.OWNERSHIP_TRANSFERRED: "changed",
    SharingEventKind.REVOKED: "removed", SharingEventKind.LEFT: "removed",
}
_REQUEST_STEPS = {SharingEventKind.INVITE_REQUESTED: "requested",
                  SharingEventKind.INVITE_REQUEST_APPROVED: "approved",
                  SharingEventKind.INVITE_REQUEST_REFUSED: "refused"}


def stage_log_step(session: AsyncSession, event: models.SharingEvent) -> None:
    """A sharing-log step is a timeline entry for every member, and what it means for the
    pages that list members, invitations, requests and documents."""
    document_id, kind = event.document_id, SharingEventKind(event.kind)
    stage(session, Change(document_id, "timeline", log_event=event))
    if kind == SharingEventKind.CREATED:
        stage(session, Change(document_id, "document", {"change": "created"}, Audience.OWNER))
    if kind in _MEMBER_CHANGES:
        removed = _MEMBER_CHANGES[kind] == "removed"
        stage(session, Change(
            document_id, "member",
            {"change": _MEMBER_CHANGES[kind], "user_id": event.subject_id, "role": event.role,
             "how": kind},
            also_tell=(event.subject_id,) if removed and event.subject_id else ()))
    if kind in INVITATION_STEPS:
        stage(session, Change(document_id, "invitation",
                              {"change": kind, "invitation_id": event.invitation_id},
                              Audience.OWNER))
    if kind in _REQUEST_STEPS:
        requester = (event.actor_id if kind == SharingEventKind.INVITE_REQUESTED
                     else event.subject_id)
        stage(session, Change(document_id, "invite_request",
                              {"change": _REQUEST_STEPS[kind], "requester_id": requester},
                              Audience.OWNER, also_tell=(requester,) if requester else ()))


def section_change(section: models.Section, change: str, **data: Any) -> Change:
    return Change(section.document_id, "section",
                  {"change": change, "section_id": section.id, **data})


def comment_change(comment: models.Comment, change: str, actor_id: str) -> Change:
    """Comments quote the text: only those who read it hear of them. `actor_id` lets the
    page that made the change tell its own change from others' (it already shows it)."""
    return Change(comment.document_id, "comment", {"change": change, "actor_id": actor_id,
                                                   "comment": {
        "id": comment.id, "section_id": comment.section_id, "parent_id": comment.parent_id,
        "author_id": comment.author_id, "status": comment.status,
        "body": None if change == "deleted" else comment.body,
    }}, Audience.TEXT_READERS)
