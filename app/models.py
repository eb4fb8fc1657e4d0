"""The web app's tables. The update log lives in `crdt.schema`; alembic sees both."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.timeutil import UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass


# Statuses and kinds are stored as their plain strings (the columns are strings): a member is
# one of the words the rows already hold, so no migration.

class SectionStatus(StrEnum):
    DRAFT = "draft"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    DONE = "done"


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class InviteRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class SharingEventKind(StrEnum):
    """A step of the sharing log. An invitation's steps share its statuses' words."""

    CREATED = "created"
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    ROLE_CHANGED = "role_changed"
    SCOPE_CHANGED = "scope_changed"
    LEFT = "left"
    REVOKED = "revoked"
    OWNERSHIP_TRANSFERRED = "ownership_transferred"
    INVITE_REQUESTED = "invite_requested"
    INVITE_REQUEST_APPROVED = "invite_request_approved"
    INVITE_REQUEST_REFUSED = "invite_request_refused"
    DELETED = "deleted"
    RESTORED = "restored"


# The log's steps that belong to one invitation's life.
INVITATION_STEPS = frozenset({
    SharingEventKind.INVITED, SharingEventKind.ACCEPTED, SharingEventKind.DECLINED,
    SharingEventKind.WITHDRAWN, SharingEventKind.EXPIRED,
})


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the user proved they hold `email` (a verification link); None: not proved, and
    # nothing sent to the address reaches them by address alone (DESIGN §8).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Session(Base):
    """A login. Only a hash of the token is kept, so a leaked table does not leak sessions."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # In the trash since then (`app.trash`): it exists for nobody but its owner, who may
    # restore it until the trash period ends and it is purged.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)


class WsTicket(Base):
    """A single-use, short-lived websocket credential for clients that cannot send cookies."""

    __tablename__ = "ws_tickets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The login that asked for it: signing out ends the ticket and what it opened.
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), default=None, index=True
    )


class Section(Base):
    """A part of a document: metadata here, its text in the Y.Doc root `section:<id>`."""

    __tablename__ = "sections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=SectionStatus.DRAFT)
    assignee_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    # Target length in words, set by the owner or the assignee: with the due date and the
    # writing pace, what the at-risk flag (`app.at_risk`) measures against.
    target_words: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A deleted section is kept, out of every listing, so its text can be restored.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    @property
    def root(self) -> str:
        return f"section:{self.id}"


class SectionArchive(Base):
    """The document as it was when a section was deleted: its text leaves the live document
    (everyone syncs it), and this copy, on the server only, is what a restore brings back."""

    __tablename__ = "section_archives"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    section_id: Mapped[str] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    deleted_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A Yjs update holding the whole document at that moment.
    content: Mapped[bytes] = mapped_column(LargeBinary)


class VersionKind(StrEnum):
    """Why a version was recorded."""

    AUTO = "auto"  # a checkpoint: activity went quiet, an hour of editing, the room unloaded
    NAMED = "named"  # someone named the current state
    RESTORE = "restore"  # the state right after a restore
    DELETION = "deletion"  # the document as a section was deleted (its archive)


class DocumentVersion(Base):
    """One entry of a document's history (`app.history`). Its content is stored as the
    update from the previous version's state vector (`data`), or whole (`full`, or the
    section archive it points to): the document of version k is versions up to k, from the
    last whole one, applied in order."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Ids of the users whose edits this version is the first to hold.
    editors: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Every section as it was: [{id, title, position, deleted}], deleted ones included.
    sections: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    # Words added and removed since the previous version, per section id: [added, removed].
    # None until counted (in a worker, after the version is stored).
    words: Mapped[dict[str, list[int]] | None] = mapped_column(JSON, default=None)
    full: Mapped[bool] = mapped_column(default=False)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    archive_id: Mapped[str | None] = mapped_column(
        ForeignKey("section_archives.id", ondelete="CASCADE"), default=None
    )
    state_vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The delete set at this version, kept on the newest version only: the next one stores
    # only the deletions this lacks.
    delete_set: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # Rows and bytes of the updates since the last whole version (0 for a whole one).
    chain_rows: Mapped[int] = mapped_column(Integer, default=0)
    chain_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class Grant(Base):
    """A member's access: one per user per document (the owner's is implicit)."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("document_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # Section ids an editor is limited to; None is the whole document.
    sections: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    reason: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(Base):
    __tablename__ = "invitations"
    # At most one pending invitation per address per document, enforced by the database so
    # that concurrent invitations cannot each find none pending (migration 0004_http_trust).
    __table_args__ = (
        Index("uq_invitations_one_pending_per_address", "document_id", "email", unique=True,
              sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    inviter_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(20))
    sections: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    reason: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status: Mapped[str] = mapped_column(String(20), default=InvitationStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The invitation link's secret, hashed (`app.links`); a new link replaces the old one.
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True,
                                                     default=None)
    link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class InviteRequest(Base):
    """An editor asking the owner to invite someone; only the owner can turn it into one."""

    __tablename__ = "invite_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    requester_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    sections: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    reason: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(20), default=InviteRequestStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    invitation_id: Mapped[str | None] = mapped_column(String(36), default=None)


class SharingEvent(Base):
    """One step in how a document became social. Rows are only ever inserted."""

    __tablename__ = "sharing_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    subject_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    subject_email: Mapped[str | None] = mapped_column(String(320), default=None)
    role: Mapped[str | None] = mapped_column(String(20), default=None)
    sections: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    reason: Mapped[str | None] = mapped_column(String(20), default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    invitation_id: Mapped[str | None] = mapped_column(String(36), default=None)


class CommentStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RESOLVED = "resolved"


class Comment(Base):
    """A comment, a suggested replacement, or a reply (`parent_id` set) on a section's text.

    The author and any decision are set by the server, never taken from a client. The anchor
    is a pair of Yjs relative positions in the section's `Y.XmlFragment`, as the client encoded
    them: opaque bytes here, resolved against the live text by clients.
    """

    __tablename__ = "comments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    section_id: Mapped[str] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    # A reply's thread; replies are one level deep and carry no anchor and no status change.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True, default=None
    )
    # None once the user is gone, or for a migrated comment nobody can be sure who wrote.
    author_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    # The text the comment was made on, as its author saw it.
    quote: Mapped[str] = mapped_column(Text, default="")
    anchor_start: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    anchor_end: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    suggestion: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(20), default=CommentStatus.OPEN)
    decided_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the author last changed the body (None: never).
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def is_reply(self) -> bool:
        return self.parent_id is not None


class ProgressView(Base):
    """When a member last opened a document's progress page, and what it showed: invitation
    follow-through (a `progress` invitee did what they were invited for once they have) and
    "since you last looked"."""

    __tablename__ = "progress_views"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    first_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The figures they saw then (`app.progress_report.snapshot`), for "since you last looked".
    seen: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the previous visit showed last, and when: "since you last looked" compares with
    # it (`app.progress_report.visit`; a visit is loads closer than a gap).
    baseline: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    baseline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ProgressDay(Base):
    """A document's words, per live section and in all, as last counted on a day: the words
    over time of progress pages, and the dashboard's figures without reading any document.
    `concentrated`: the concentration indicator was flagged then."""

    __tablename__ = "progress_days"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    words: Mapped[int] = mapped_column(BigInteger)
    # Words per section id.
    sections: Mapped[dict[str, int]] = mapped_column(JSON)
    concentrated: Mapped[bool] = mapped_column(Boolean)
    # When each section (by id) was last edited, and each member (by user id) last wrote
    # (Unix ms), as of the count: the dashboard's stalled sections and silent members
    # without scanning the attribution history of every document.
    section_edits: Mapped[dict[str, int]] = mapped_column(JSON)
    writers: Mapped[dict[str, int]] = mapped_column(JSON)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchEntry(Base):
    """What search finds in one live section: the document's title, the section's title and
    its plain text, as of the state `SearchState` names (`app.search`). The full-text index
    over these rows is the database's own and lives only in migration 0009_search_index: an
    FTS5 table on SQLite, a generated `tsv` column with a GIN index on PostgreSQL."""

    __tablename__ = "search_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    # None for the one row of a document without sections (its title is still found).
    section_id: Mapped[str | None] = mapped_column(String(36), default=None)
    title: Mapped[str] = mapped_column(Text)
    section_title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)


class SearchState(Base):
    """Which state of a document its search entries were made from: the last update row id
    of its log then, and when (a rename after that is newer than the entries)."""

    __tablename__ = "search_documents"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(BigInteger)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime)
class AccountToken(Base):
    """A single-use secret mailed to an account's address: to verify it, or to reset the
    password. Only its hash is kept."""

    __tablename__ = "account_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    # The address the mail went to: a verification proves this one, not a later address.
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OutgoingMail(Base):
    """A mail waiting to be sent, being retried, sent or given up on (`app.outbox`).

    Queued in the transaction of the step that causes it, so a committed invitation always
    has its mail on the way, and a mail server that is down loses nothing."""

    __tablename__ = "mail_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # An HTML alternative of `body`, for mails that have one (the progress digest).
    html_body: Mapped[str | None] = mapped_column(Text, default=None)
    invitation_id: Mapped[str | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a sender may next try it; a sender claims a row by moving this forward.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class Notification(Base):
    """Something that happened for one user: an invitation, an invite request to answer, a
    reply to their comment, a mention (`app.notifications` makes every one)."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), default=None
    )
    actor_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # One line saying what happened, and where in the web app it leads (a hash route).
    text: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MailOptOut(Base):
    """A kind of notification the user wants no mail for (it still shows in the inbox)."""

    __tablename__ = "mail_opt_outs"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)


class DigestFrequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class DigestSubscription(Base):
    """A member's progress digest by mail (`app.digests`): how often, and when it last went
    out. No row: no digest."""

    __tablename__ = "progress_digest_subscriptions"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    frequency: Mapped[str] = mapped_column(String(10))
    # The last digest run for them (or when they subscribed): the next is due at the first
    # scheduled moment after it. A sender claims a run by moving it forward.
    covered_until: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class DigestOptOut(Base):
    """A document a subscriber wants left out of their digest."""

    __tablename__ = "progress_digest_opt_outs"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )


class DigestMark(Base):
    """What a member's last digest said of a document (`app.digests.Figures`, numbers, ids
    and titles only), so the next one tells only what moved since."""

    __tablename__ = "progress_digest_marks"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    covered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
