"""The one place that decides who may do what with a document.

Routes and the websocket ask here; none decides for itself. A user without access gets `None`,
which every caller turns into the same 404 as for a document that does not exist.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import CompoundSelect, Select, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.models import (
    INVITATION_STEPS,
    Comment,
    CommentStatus,
    Document,
    Grant,
    SharingEvent,
    SharingEventKind,
)
from crdt.guard import WriteScope


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    VIEWER = "viewer"
    PROGRESS = "progress"


class CommentAction(StrEnum):
    """What a member may do to an existing comment (creating one is `Access.can_comment`)."""

    REPLY = "reply"
    EDIT = "edit"
    DELETE = "delete"
    ACCEPT = "accept"
    REJECT = "reject"
    RESOLVE = "resolve"
    REOPEN = "reopen"


# Members who read a document's text (the owner does too); the others follow its metadata.
TEXT_READING_ROLES = frozenset({Role.EDITOR, Role.REVIEWER, Role.VIEWER})

# The Y.Map comments lived in before they became server records: retired, nobody writes it.
COMMENTS_ROOT = "comments"


def section_root(section_id: str) -> str:
    return f"section:{section_id}"


@dataclass(frozen=True, slots=True)
class Access:
    document: Document
    role: Role
    # For an editor limited to some sections; None is the whole document.
    sections: frozenset[str] | None = None

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER

    @property
    def can_manage(self) -> bool:
        """Rename, delete, invite, change or revoke members, transfer ownership."""
        return self.is_owner

    @property
    def can_leave(self) -> bool:
        """Every member but the owner, who must hand the document on first: a document always
        has an owner."""
        return not self.is_owner

    @property
    def can_read_text(self) -> bool:
        return self.is_owner or self.role in TEXT_READING_ROLES

    @property
    def can_export(self) -> bool:
        """An export is the text: whoever reads it (never a `progress` member)."""
        return self.can_read_text

    @property
    def can_open_socket(self) -> bool:
        return self.can_read_text

    @property
    def can_request_invite(self) -> bool:
        return self.role is Role.EDITOR

    @property
    def can_structure_sections(self) -> bool:
        """Add, rename, reorder and delete sections: the owner and whole-document editors."""
        return self.is_owner or (self.role is Role.EDITOR and self.sections is None)

    def can_update_section(self, section_id: str) -> bool:
        """Status, assignee and due date of one section."""
        if self.can_structure_sections:
            return True
        return self.role is Role.EDITOR and self.sections is not None and (
            section_id in self.sections
        )

    def answers_for(self, user_id: str, assignee_id: str | None) -> bool:
        """Whether `user_id` (whose access this is) answers for a section: its document's
        owner, or its assignee. They set its target length and see whether it is at risk of
        missing its date; nobody else, managers following progress included, does: the flag
        is a prompt to the people who can act on it, not a mark for others to see."""
        return self.is_owner or (assignee_id is not None and assignee_id == user_id)

    def can_write_section(self, section_id: str) -> bool:
        """May change this section's text (its Y.Doc root)."""
        return self.write_scope().allows(section_root(section_id))

    @property
    def can_open_history(self) -> bool:
        """List, open and compare versions: the owner and editors (scoped ones too: they read
        the whole text anyway). History holds text deleted before a member was invited, so
        it stays with those who write the document, as in Google Docs."""
        return self.is_owner or self.role is Role.EDITOR

    def can_restore(self, section_id: str) -> bool:
        """Write a version's text of this section back: whoever may write the section."""
        return self.can_open_history and self.can_write_section(section_id)

    @property
    def writes_text(self) -> bool:
        """Progress expects this member to write (owner and editors): concentration, balance
        and silent members count them."""
        return self.role in (Role.OWNER, Role.EDITOR)

    @property
    def can_read_comments(self) -> bool:
        """Comments quote and point into the text: whoever reads the text reads them."""
        return self.can_read_text

    @property
    def can_comment(self) -> bool:
        """Comment, suggest and reply, on any section: the owner, every editor (a scoped one
        too, on sections outside its scope, as a reviewer could) and reviewers."""
        return self.role in (Role.OWNER, Role.EDITOR, Role.REVIEWER)

    def comment_rights(self, user_id: str, comment: Comment) -> frozenset[CommentAction]:
        """Who may do what to a comment, whatever its state (`app.comments` says which state
        allows what: a reply has no status, a decided suggestion stays decided).

        Only the author edits a comment, and deletes it, or the owner, who may remove any.
        Accepting or rejecting a suggestion changes the text: those who may write the section
        decide. They also resolve and reopen any thread there; an author resolves their own,
        and reopens it if it was resolved (not a rejected suggestion). Members who may no
        longer comment (a viewer now, say) keep none of these rights, even on their own.
        """
        if not self.can_comment:
            return frozenset()
        own = comment.author_id is not None and comment.author_id == user_id
        writer = self.can_write_section(comment.section_id)
        rights = {CommentAction.REPLY}
        if own:
            rights |= {CommentAction.EDIT, CommentAction.DELETE}
        if self.is_owner:
            rights.add(CommentAction.DELETE)
        if writer:
            rights |= {CommentAction.ACCEPT, CommentAction.REJECT, CommentAction.RESOLVE,
                       CommentAction.REOPEN}
        if own:
            rights.add(CommentAction.RESOLVE)
            if comment.status == CommentStatus.RESOLVED:
                rights.add(CommentAction.REOPEN)
        return frozenset(rights)

    def write_scope(self) -> WriteScope:
        """The Y.Doc roots this member's connections may change. Comments are server records
        (`app.comments`), so no role writes them through the CRDT: a reviewer writes nothing
        there, a scoped editor only its sections."""
        if self.is_owner or (self.role is Role.EDITOR and self.sections is None):
            return WriteScope.everything()
        if self.role is Role.EDITOR:
            assert self.sections is not None
            return WriteScope.only({section_root(s) for s in self.sections})
        return WriteScope.nothing()


def _from_grant(document: Document, grant: Grant) -> Access:
    sections = frozenset(grant.sections) if grant.sections is not None else None
    return Access(document, Role(grant.role), sections)


async def document_access(session: AsyncSession, user_id: str, document_id: str) -> Access | None:
    document = await session.get(Document, document_id)
    if document is None or document.deleted_at is not None:
        # A document in the trash (`app.trash`) exists for nobody, its owner included.
        return None
    if document.owner_id == user_id:
        return Access(document, Role.OWNER)
    grant = await session.scalar(
        select(Grant).where(Grant.document_id == document_id, Grant.user_id == user_id)
    )
    return _from_grant(document, grant) if grant is not None else None


def accesses(session: Session,
             wanted: Collection[tuple[str, str]]) -> dict[tuple[str, str], Access]:
    """`document_access` of many (user id, document id) pairs in two queries: the websocket
    admissions of a reconnect storm are checked together (`app.ws_admission`), synchronously.
    A pair without access is missing from the result."""
    if not wanted:
        return {}
    documents = {document.id: document for document in session.scalars(
        select(Document).where(Document.id.in_({document_id for _, document_id in wanted}),
                               Document.deleted_at.is_(None)))}
    found = {(user_id, document_id): Access(documents[document_id], Role.OWNER)
             for user_id, document_id in wanted
             if document_id in documents and documents[document_id].owner_id == user_id}
    members = [pair for pair in wanted if pair not in found and pair[1] in documents]
    if members:
        for grant in session.scalars(select(Grant).where(
                tuple_(Grant.user_id, Grant.document_id).in_(members))):
            found[grant.user_id, grant.document_id] = _from_grant(documents[grant.document_id],
                                                                  grant)
    return found


async def document_members(session: AsyncSession, document_id: str) -> dict[str, Access]:
    """Everyone with access to the document (the owner and every grant), by user id; empty
    for a document that does not exist."""
    return (await members_of_documents(session, [document_id]))[document_id]


async def members_of_documents(session: AsyncSession,
                               document_ids: Collection[str]) -> dict[str, dict[str, Access]]:
    """`document_members` of many documents in two queries, not two per document: a live
    event window tells every document being typed in at once."""
    if not document_ids:
        return {}
    ids = sorted(set(document_ids))
    documents = {document.id: document for document in
                 await session.scalars(select(Document).where(Document.id.in_(ids)))}
    members = {document_id: {document.owner_id: Access(document, Role.OWNER)}
               for document_id, document in documents.items()}
    for grant in await session.scalars(select(Grant).where(Grant.document_id.in_(ids))):
        if grant.document_id in documents:
            members[grant.document_id][grant.user_id] = _from_grant(
                documents[grant.document_id], grant)
    return {document_id: members.get(document_id, {}) for document_id in ids}


async def accessible_documents(session: AsyncSession, user_id: str) -> list[Access]:
    rows = await session.execute(
        select(Document, Grant)
        .outerjoin(Grant, (Grant.document_id == Document.id) & (Grant.user_id == user_id))
        .where(or_(Document.owner_id == user_id, Grant.id.is_not(None)),
               Document.deleted_at.is_(None))
        .order_by(Document.updated_at.desc())
    )
    return [
        Access(document, Role.OWNER) if document.owner_id == user_id
        else _from_grant(document, grant)
        for document, grant in rows
    ]


def visible_ids(user_id: str) -> CompoundSelect[str]:
    """The ids of every document the user is the owner or a member of (each sees its
    progress), none in the trash: for the dashboard's aggregates over all of them at once."""
    return union_all(
        select(Document.id).where(Document.owner_id == user_id, Document.deleted_at.is_(None)),
        select(Grant.document_id).join(Document, Document.id == Grant.document_id).where(
            Grant.user_id == user_id, Document.deleted_at.is_(None)),
    )


def text_readable_ids(user_id: str) -> CompoundSelect[str]:
    """The ids of the documents whose text (and everything else) the user may read, for
    queries over many documents at once, such as search. Two indexed lookups, not a scan;
    a document in the trash is in neither."""
    return union_all(
        select(Document.id).where(Document.owner_id == user_id, Document.deleted_at.is_(None)),
        select(Grant.document_id).join(Document, Document.id == Grant.document_id).where(
            Grant.user_id == user_id,
            Grant.role.in_([role.value for role in TEXT_READING_ROLES]),
            Document.deleted_at.is_(None)),
    )


def titles_only_ids(user_id: str) -> Select[str]:
    """The ids of the documents whose document and section titles the user sees (they are on
    the progress page) but not their text: those it follows as a `progress` member (none in
    the trash)."""
    return select(Grant.document_id).join(Document, Document.id == Grant.document_id).where(
        Grant.user_id == user_id, Grant.role == Role.PROGRESS.value,
        Document.deleted_at.is_(None))


def narrower(first: WriteScope, second: WriteScope) -> WriteScope:
    """What both scopes allow: applied before a change commits, so a change never widens
    access early, and narrowing takes effect at once."""
    if first.roots is None:
        return second
    if second.roots is None:
        return first
    return WriteScope.only(first.roots & second.roots)


@dataclass(frozen=True, slots=True)
class EventView:
    """One sharing-log event as its reader may see it; None where it is hidden."""

    actor_id: str | None
    subject_id: str | None
    subject_email: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class LogReader:
    """What one reader may see of a document's sharing log (DESIGN §3).

    The owner sees everything. Every other member, progress included, sees each step's who,
    role, scope, reason and time, but no invitation or request message (they were written to
    the invitee or the owner), and no address of anyone who is not a member now. The invitee
    of an invitation nobody accepted (pending, declined, withdrawn, expired) is not shown at
    all, not even by name: it is "an invitation". Anyone else who is not a member now (a
    former member) appears by name only.
    """

    sees_everything: bool
    # The owner and the current members, by user id and by address (lower case).
    member_ids: frozenset[str]
    member_addresses: frozenset[str]
    accepted_invitations: frozenset[str]

    @classmethod
    def of(cls, access: Access, members: Mapping[str, str],
           events: Iterable[SharingEvent]) -> LogReader:
        """`members`: user id -> address of the owner and every current member."""
        accepted = frozenset(e.invitation_id for e in events
                             if e.kind == SharingEventKind.ACCEPTED and e.invitation_id)
        return cls(access.can_manage, frozenset(members),
                   frozenset(a.lower() for a in members.values()), accepted)

    def shows_email_of(self, user_id: str) -> bool:
        return self.sees_everything or user_id in self.member_ids

    def view(self, event: SharingEvent) -> EventView:
        if self.sees_everything:
            return EventView(event.actor_id, event.subject_id, event.subject_email,
                             event.message)
        address = event.subject_email
        hidden_invitee = (
            event.kind in INVITATION_STEPS
            and event.invitation_id not in self.accepted_invitations
            and event.subject_id not in self.member_ids
        )

        def person(user_id: str | None) -> str | None:
            if hidden_invitee and user_id is not None and user_id == event.subject_id:
                return None
            return user_id

        return EventView(
            actor_id=person(event.actor_id),
            subject_id=person(event.subject_id),
            subject_email=(address if address and address.lower() in self.member_addresses
                           else None),
            message=None,
        )
