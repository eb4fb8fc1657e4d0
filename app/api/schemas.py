"""Request and response bodies of the public API (DESIGN §4)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from app.comments import (
    MAX_ANCHOR_BYTES,
    MAX_BODY_CHARS,
    MAX_QUOTE_CHARS,
    MAX_SUGGESTION_CHARS,
    Anchor,
)
from app.models import CommentStatus
from app.permissions import CommentAction

# base64 of MAX_ANCHOR_BYTES bytes
_ANCHOR_B64_CHARS = (MAX_ANCHOR_BYTES + 2) // 3 * 4
# Every string a client sends is bounded, so no field costs more than its purpose. Ids are
# UUIDs (36 characters). `EmailStr` is bounded by its own validator (2048 characters in
# pydantic, then 254 in email-validator), before anything else looks at it.
Id = Annotated[str, Field(max_length=64)]
Ids = Annotated[list[Id], Field(max_length=200)]
# A section's target length: a book is a few hundred thousand words.
MAX_TARGET_WORDS = 1_000_000


def _without_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, list):
        for item in value:
            _without_nul(item)
    return value


class InputModel(BaseModel):
    """Every request body. NUL characters are refused here, once for all fields: PostgreSQL
    cannot store them, and no legitimate text contains one."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for value in data.values():
                _without_nul(value)
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _times_in_utc(cls, value: Any) -> Any:
        """Every timestamp is stored in UTC: one without a zone is read as UTC rather than
        refused or misread; one whose UTC instant falls outside the calendar (year 9999 at
        -14:00, year 1 at +01:00) is refused here rather than overflowing in the database."""
        if not isinstance(value, datetime):
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("time out of range once converted to UTC") from exc


class RegisterIn(InputModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("name must not be blank")
        return name


class LoginIn(InputModel):
    email: EmailStr
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str


class MeOut(UserOut):
    """The signed-in user, with what the app needs to offer address verification and to say
    how long a deleted document stays restorable."""

    email_verified: bool
    # Whether this server sends mail at all (verification and reset links need it).
    mail_enabled: bool
    # How long a deleted document waits, restorable, in its owner's trash (`WIDEN_TRASH_DAYS`).
    trash_days: float


# A secret from a link (`app.links`): 43 characters as issued; bounded like every string.
LinkToken = Annotated[str, Field(min_length=1, max_length=128)]


class VerifyIn(InputModel):
    token: LinkToken


class ResetRequestIn(InputModel):
    email: EmailStr


class ResetIn(InputModel):
    token: LinkToken
    password: str = Field(min_length=8, max_length=1024)


class SentOut(BaseModel):
    detail: str


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    document_id: str | None
    actor_id: str | None
    text: str
    path: str
    created_at: datetime
    read_at: datetime | None


class NotificationMailIn(InputModel):
    """Which kinds of notification also come by mail: only the kinds given change."""

    invited: bool | None = None
    invite_request: bool | None = None
    reply: bool | None = None
    mention: bool | None = None


class NotificationMailOut(BaseModel):
    invited: bool
    invite_request: bool
    reply: bool
    mention: bool


class DigestIn(InputModel):
    """The progress digest by mail: how often (`off`: none); only what is given changes."""

    frequency: Literal["daily", "weekly", "off"] | None = None


class DigestDocumentIn(InputModel):
    """Whether a followed document is in my digest."""

    included: bool


class DigestOut(BaseModel):
    frequency: Literal["daily", "weekly", "off"]
    # Documents I follow but left out of my digest.
    left_out: list[str]


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


class DocumentIn(InputModel):
    title: str = Field(default="Untitled", max_length=300)


class DocumentPatch(InputModel):
    title: str = Field(max_length=300)


class UserRef(BaseModel):
    id: str
    name: str


class DocumentOut(BaseModel):
    id: str
    title: str
    role: str
    # The sections an editor is limited to; null for the whole document.
    sections: list[str] | None
    owner_id: str
    owner: UserRef
    # Members besides the owner: 0 is a private draft.
    members: int
    created_at: datetime
    updated_at: datetime


class TrashedDocumentOut(BaseModel):
    """A document in its owner's trash: nobody else sees it until it is restored."""

    id: str
    title: str
    # Members besides the owner, who get their access back with a restore.
    members: int
    created_at: datetime
    deleted_at: datetime
    # When it is purged for good; a restore is possible until then.
    purge_at: datetime


class TicketOut(BaseModel):
    ticket: str
    expires_in: float


class HealthOut(BaseModel):
    status: str
    database: bool
    rooms: int
    connections: int
    pending_writes: int
    write_batches: int
    updates_written: int
    write_failures: int
    # Since when the update writer's commits have been failing (null while they succeed).
    write_failing_since: datetime | None
    # Queued updates at which incoming edits wait for the writer; connections waiting now.
    write_backlog_limit: int
    writers_paused: int
    # Updates the database refused for good, kept aside since this process started.
    updates_set_aside: int
    # Documents waiting to be indexed for search again; documents indexed since the start.
    search_pending: int
    search_indexed: int


class SearchHitOut(BaseModel):
    """One document found, through its best-matching section (none for a document without
    sections). `snippet` is plain text; each matched word in it is enclosed in U+E000 ...
    U+E001, characters that never occur in what is indexed: render it as text, never as
    HTML."""

    document_id: str
    title: str
    section_id: str | None
    section_title: str | None
    snippet: str


Reason = Literal["help", "expertise", "review", "progress", "other"]
InvitableRole = Literal["editor", "reviewer", "viewer", "progress"]
# The words of `models.SectionStatus`, spelled out: a Literal keeps the OpenAPI schema (and the
# frontend's generated types) as they were (tests/unit/test_enums.py keeps the two in step).
SectionStatus = Literal["draft", "in_progress", "in_review", "done"]


class InvitationIn(InputModel):
    email: EmailStr
    role: InvitableRole
    sections: Ids | None = None
    reason: Reason
    message: str | None = Field(default=None, max_length=2000)
    expires_at: datetime | None = None


MailState = Literal["queued", "sent", "retrying", "failed"]


class MailStatusOut(BaseModel):
    status: MailState
    attempts: int
    error: str | None
    sent_at: datetime | None


class InvitationOut(BaseModel):
    id: str
    document_id: str
    document_title: str
    inviter: UserOut
    email: str
    role: str
    sections: list[str] | None
    reason: str
    message: str | None
    expires_at: datetime | None
    status: str
    created_at: datetime
    responded_at: datetime | None
    # The owner's only: the invitation link, just after it was made (only its hash is kept),
    # and what became of its mail (None: none was sent, the server has no SMTP).
    link: str | None = None
    link_expires_at: datetime | None = None
    mail: MailStatusOut | None = None


class InvitationAnswerIn(InputModel):
    """Accepting or declining by the invitation's link: its secret proves the address."""

    token: LinkToken | None = None


class MemberOut(BaseModel):
    user: UserOut
    role: str
    sections: list[str] | None
    reason: str | None
    since: datetime


class MemberPatch(InputModel):
    role: InvitableRole | None = None
    # Present and null: the whole document; absent: unchanged.
    sections: Ids | None = None


class TransferIn(InputModel):
    user_id: Id


class InviteRequestIn(InputModel):
    email: EmailStr
    role: InvitableRole
    sections: Ids | None = None
    reason: Reason
    message: str | None = Field(default=None, max_length=2000)


class InviteRequestOut(BaseModel):
    id: str
    document_id: str
    requester: UserOut
    email: str
    role: str
    sections: list[str] | None
    reason: str
    message: str | None
    status: str
    created_at: datetime
    decided_at: datetime | None
    invitation_id: str | None


class LogUserOut(BaseModel):
    """A person in the sharing log; `email` is null where the reader may not see it."""

    id: str
    name: str
    email: str | None


class SharingEventOut(BaseModel):
    """One step; for a reader other than the owner, `message` is null, and `actor`,
    `subject` and `subject_email` are null where they would reveal someone who is not a
    member (DESIGN §3)."""

    id: int
    at: datetime
    kind: str
    actor: LogUserOut | None
    subject: LogUserOut | None
    subject_email: str | None
    role: str | None
    sections: list[str] | None
    reason: str | None
    message: str | None
    invitation_id: str | None


class SharingSummary(BaseModel):
    created_at: datetime
    private_until: datetime | None
    private_for_seconds: float
    first_need: str | None
    members: int


class SharingLogOut(BaseModel):
    summary: SharingSummary
    events: list[SharingEventOut]


class SectionIn(InputModel):
    title: str = Field(default="Untitled section", max_length=300)
    status: SectionStatus = "draft"
    assignee_id: Id | None = None
    due_date: date | None = None


class SectionPatch(InputModel):
    title: str | None = Field(default=None, max_length=300)
    status: SectionStatus | None = None
    assignee_id: Id | None = None
    due_date: date | None = None
    # Only the owner and the section's assignee may set it (null clears it).
    target_words: int | None = Field(default=None, ge=1, le=MAX_TARGET_WORDS)


class SectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    document_id: str
    title: str
    position: int
    status: str
    assignee_id: str | None
    due_date: date | None
    target_words: int | None
    root: str
    created_at: datetime
    updated_at: datetime


class SectionOrderIn(InputModel):
    section_ids: list[Id] = Field(max_length=1000)


class AtRiskOut(BaseModel):
    # pace: the target is out of reach at the last 7 days' pace; quiet: no edit for a while
    # with the due date near.
    reason: Literal["pace", "quiet"]
    explanation: str


class SectionProgress(BaseModel):
    id: str
    title: str
    status: str
    assignee: UserOut | None
    due_date: date | None
    overdue: bool
    # None when the server could not count them (the document failed to read; logged).
    words: int | None
    # done; late (past its due date); stalled (no edit for WIDEN_PROGRESS_STALLED_DAYS days);
    # on_track.
    schedule: Literal["done", "late", "stalled", "on_track"]
    target_words: int | None
    # At risk of missing its due date (`app.at_risk`), with why in one line: null when it is
    # not, and always null for anyone but the document's owner and the section's assignee.
    at_risk: AtRiskOut | None = None
    last_edit_at: datetime | None
    # Characters (UTF-16 code units, as Yjs counts text) written into and deleted from the
    # section by members, and in it now (None when the text could not be read).
    chars_inserted: int
    chars_deleted: int
    chars_current: int | None


class Contributor(BaseModel):
    user: UserOut
    edits: int
    last_edit_at: datetime


class MemberProgress(BaseModel):
    """Who wrote what; `role` is None for a former member whose writing is still counted."""
    user_id: str
    name: str
    role: str | None
    chars_inserted: int
    chars_deleted: int
    # Words they typed and erased (`crdt.attribution`: word starts), counted since words
    # were (migration 0016): 0 for what was written before.
    words_added: int
    words_removed: int
    updates: int
    # Characters of the current text they wrote, and that as a share of all of it.
    chars_current: int | None
    share: float | None
    last_active: datetime | None


class DayActivity(BaseModel):
    day: date
    chars_inserted: int
    chars_deleted: int
    words_added: int
    words_removed: int
    updates: int
    active_members: int


class ConcentrationOut(BaseModel):
    top_user_id: str | None
    share: float | None
    # Members with write access (owner and editors).
    writers: int
    flagged: bool
    explanation: str


class SilentMember(BaseModel):
    user_id: str
    name: str
    role: str
    # Since they accepted (the owner: since the document was created).
    since: datetime
    explanation: str


class BalanceOut(BaseModel):
    gini: float | None
    explanation: str


class FollowThroughOut(BaseModel):
    user_id: str
    name: str
    role: str
    reason: str
    followed_through: bool
    explanation: str


class Indicators(BaseModel):
    concentration: ConcentrationOut
    silent_members: list[SilentMember]
    balance: BalanceOut
    follow_through: list[FollowThroughOut]


class WordsDay(BaseModel):
    """Words as last counted on a day: in all, and per section id."""
    day: date
    words: int
    sections: dict[str, int]


class FlagOut(BaseModel):
    flag: Literal["late", "stalled", "concentrated", "silent"]
    explanation: str


class SectionChange(BaseModel):
    """A section whose words or status moved since my last visit (`*_before` null: new)."""
    id: str
    title: str
    words_before: int | None
    words_now: int | None
    status_before: str | None
    status_now: str


class NewMember(BaseModel):
    user_id: str
    name: str


class SinceLastVisit(BaseModel):
    previous_visit_at: datetime
    chars_inserted: int
    chars_deleted: int
    words_added: int
    words_removed: int
    # Members who wrote since then.
    active_user_ids: list[str]
    sections: list[SectionChange]
    # Members who joined since, and the document's flags raised and cleared since.
    new_members: list[NewMember]
    flags_raised: list[str]
    flags_cleared: list[str]


class ProgressOut(BaseModel):
    document_id: str
    title: str
    role: str
    sections_total: int
    sections_done: int
    words_total: int | None
    next_due: date | None
    last_edit_at: datetime | None
    sections: list[SectionProgress]
    contributors: list[Contributor]
    # The unit of every `chars_*` figure: UTF-16 code units, as Yjs counts text length.
    char_unit: Literal["utf16"] = "utf16"
    members: list[MemberProgress]
    activity: list[DayActivity]
    indicators: Indicators
    # Oldest first; one row per day on which the words were counted.
    words_series: list[WordsDay]
    flags: list[FlagOut]
    # What moved since my previous visit of this document's progress page (single-document
    # route only; null on a first visit and in `GET /api/progress`).
    since_last_visit: SinceLastVisit | None = None


class ProgressSummary(BaseModel):
    """One row of the dashboard (`GET /api/progress`): figures from SQL aggregates and the
    words kept per day, never from reading the document."""
    document_id: str
    title: str
    role: str
    sections_total: int
    sections_done: int
    # Sections per status (draft, in_progress, in_review, done).
    status_counts: dict[str, int]
    # As last counted; None if never counted yet.
    words_total: int | None
    words_counted_at: datetime | None
    # Words on each of the last 14 days, oldest first (None before the first count).
    trend: list[int | None]
    next_due: date | None
    late: int
    stalled: int
    last_edit_at: datetime | None
    flags: list[FlagOut]


class AnchorIn(InputModel):
    """Where a thread sits: two Yjs relative positions in the section's `Y.XmlFragment`, as
    `Y.encodeRelativePosition` encodes them, in base64. Opaque to the server."""

    start: str = Field(min_length=1, max_length=_ANCHOR_B64_CHARS)
    end: str = Field(min_length=1, max_length=_ANCHOR_B64_CHARS)

    @field_validator("start", "end")
    @classmethod
    def _relative_position(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if not 0 < len(raw) <= MAX_ANCHOR_BYTES:
            raise ValueError(f"must encode 1 to {MAX_ANCHOR_BYTES} bytes")
        return value

    def decoded(self) -> Anchor:
        return Anchor(base64.b64decode(self.start), base64.b64decode(self.end))


class CommentIn(InputModel):
    """A new thread (`section_id`, `anchor`, `quote`, `body`, and `suggestion` for a suggested
    replacement, whose `body` may then be empty) or a reply (`parent_id` and `body` only).
    Anything else sent (an author, a status) is ignored: the server sets those."""

    section_id: str | None = Field(default=None, max_length=36)
    anchor: AnchorIn | None = None
    quote: str = Field(default="", max_length=MAX_QUOTE_CHARS)
    body: str = Field(default="", max_length=MAX_BODY_CHARS)
    suggestion: str | None = Field(default=None, max_length=MAX_SUGGESTION_CHARS)
    parent_id: str | None = Field(default=None, max_length=36)
    # Members mentioned in the body (their user ids; the body carries "@Name" for people).
    mentions: list[Id] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _thread_or_reply(self) -> CommentIn:
        if self.parent_id is not None:
            if self.section_id is not None or self.anchor is not None or self.suggestion \
                    is not None or self.quote:
                raise ValueError("a reply has parent_id and body only: it sits in its thread")
        elif self.section_id is None or self.anchor is None:
            raise ValueError("a new thread needs section_id and anchor (or parent_id to reply)")
        return self


class CommentPatch(InputModel):
    body: str = Field(max_length=MAX_BODY_CHARS)


class AnchorOut(BaseModel):
    start: str
    end: str


class CommentOut(BaseModel):
    id: str
    document_id: str
    section_id: str
    # Set on a reply: the thread it belongs to.
    parent_id: str | None
    # Null when the author's account is gone, or a migrated comment's author was uncertain.
    author: UserRef | None
    body: str
    quote: str
    # Null on replies (they sit in their thread).
    anchor: AnchorOut | None
    suggestion: str | None
    status: CommentStatus
    decided_by: UserRef | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None
    # What the caller may do to this comment now: what a client should offer.
    actions: list[CommentAction]


class VersionIn(InputModel):
    name: str = Field(min_length=1, max_length=200)


class VersionWords(BaseModel):
    added: int
    removed: int


class VersionOut(BaseModel):
    """One entry of a document's history."""

    id: str
    number: int
    # auto (a checkpoint), named, restore, or deletion (just before a section was deleted).
    kind: str
    name: str | None
    created_at: datetime
    # Who made it (named it, restored, deleted the section); null for a checkpoint.
    created_by: str | None
    creator: UserRef | None
    # Who edited since the previous version.
    editors: list[UserRef]
    # Words added and removed since the previous version, per section id; null until counted.
    words: dict[str, VersionWords] | None


class VersionSectionOut(BaseModel):
    section_id: str
    title: str
    # Deleted from the document at the time of the version (kept for a restore).
    deleted: bool
    # Deleted from the document now: a restore brings it back.
    deleted_now: bool
    text: str
    markdown: str


class VersionContentOut(VersionOut):
    sections: list[VersionSectionOut]


class DiffRun(BaseModel):
    # equal, insert (only in the current text) or delete (only in the version).
    op: Literal["equal", "insert", "delete"]
    text: str


class VersionSectionDiffOut(BaseModel):
    section_id: str
    title: str
    runs: list[DiffRun]


class VersionDiffOut(BaseModel):
    """From the version (deletions) to the current text (insertions), per section."""

    id: str
    sections: list[VersionSectionDiffOut]


class RestoreIn(InputModel):
    # The sections to restore; omitted, every section the version has.
    sections: Ids | None = None
