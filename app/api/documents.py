"""Documents (DESIGN §4): private by default; for anyone without access, every route is a 404."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from sqlalchemy import func, select

from app import models
from app.api.access import NOT_FOUND, require_access, require_owner
from app.api.background import on_the_loop
from app.api.deps import CurrentLogin, CurrentUser, DbSession, ServicesDep
from app.api.schemas import DocumentIn, DocumentOut, DocumentPatch, TicketOut, UserRef
from app.errors import Refusal
from app.events import Change, stage
from app.models import SharingEventKind
from app.permissions import Access, Role, accessible_documents, document_members
from app.security import new_token, token_digest
from app.sharing import record
from app.timeutil import utcnow
from app.trash import move_to_trash

router = APIRouter(prefix="/api/documents", tags=["documents"])

async def document_outs(session: DbSession, accesses: list[Access]) -> list[DocumentOut]:
    """Documents as the caller sees them, with who owns each and how many share it: what a
    home page needs to tell private drafts from shared work, in two queries for any number."""
    ids = [a.document.id for a in accesses]
    members = dict((await session.execute(
        select(models.Grant.document_id, func.count())
        .where(models.Grant.document_id.in_(ids)).group_by(models.Grant.document_id)
    )).all()) if ids else {}
    owners = {u.id: u for u in await session.scalars(
        select(models.User).where(models.User.id.in_({a.document.owner_id for a in accesses})))}
    return [
        DocumentOut(
            id=a.document.id,
            title=a.document.title,
            role=a.role.value,
            sections=sorted(a.sections) if a.sections is not None else None,
            owner_id=a.document.owner_id,
            owner=UserRef(id=a.document.owner_id, name=owners[a.document.owner_id].name),
            members=members.get(a.document.id, 0),
            created_at=a.document.created_at,
            updated_at=a.document.updated_at,
        )
        for a in accesses
    ]


async def document_out(session: DbSession, access: Access) -> DocumentOut:
    return (await document_outs(session, [access]))[0]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DocumentOut)
async def create_document(body: DocumentIn, user: CurrentUser, session: DbSession,
                          services: ServicesDep, tasks: BackgroundTasks) -> DocumentOut:
    document = models.Document(owner_id=user.id, title=body.title.strip() or "Untitled")
    session.add(document)
    await session.flush()
    record(session, document.id, SharingEventKind.CREATED, actor_id=user.id)
    # Found by its title from its first indexing, after this commit.
    tasks.add_task(services.search_index.changed_soon, document.id)
    return await document_out(session, Access(document, Role.OWNER))


@router.get("", response_model=list[DocumentOut])
async def list_documents(user: CurrentUser, session: DbSession) -> list[DocumentOut]:
    return await document_outs(session, await accessible_documents(session, user.id))


@router.get("/{document_id}", response_model=DocumentOut)
async def get_document(document_id: str, user: CurrentUser, session: DbSession) -> DocumentOut:
    return await document_out(session, await require_access(session, user, document_id))


@router.patch("/{document_id}", response_model=DocumentOut)
async def rename_document(
    document_id: str, body: DocumentPatch, user: CurrentUser, session: DbSession,
    services: ServicesDep, tasks: BackgroundTasks,
) -> DocumentOut:
    access = await require_owner(session, user, document_id)
    access.document.title = body.title.strip() or "Untitled"
    access.document.updated_at = utcnow()
    stage(session, Change(document_id, "document",
                          {"change": "renamed", "title": access.document.title}))
    # After the commit, so the indexer reads the new title.
    tasks.add_task(services.search_index.changed_soon, document_id)
    return await document_out(session, access)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    document_id: str, user: CurrentUser, session: DbSession, services: ServicesDep,
    tasks: BackgroundTasks,
) -> None:
    """Into the owner's trash (`app.trash`): gone for everyone at once, restorable by the
    owner, members and all, until the trash period ends."""
    await require_owner(session, user, document_id)
    stage(session, Change(document_id, "document", {"change": "deleted"},
                          former_members=tuple(await document_members(session, document_id))))
    services.live.shut_document(document_id)
    # The room's last writes land first, so the document sleeps in the trash complete. This
    # waits for the update writer: it comes before this transaction writes anything, or on
    # SQLite it would hold the database's write lock the writer needs.
    await services.rooms.unload(document_id)
    if not await move_to_trash(session, document_id, now=utcnow()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)  # a concurrent delete won
    record(session, document_id, SharingEventKind.DELETED, actor_id=user.id)
    # A socket admitted while this request ran is closed once the document is gone for good.
    tasks.add_task(on_the_loop(services.live.shut_document), document_id)


@router.post("/{document_id}/ticket", response_model=TicketOut)
async def create_ticket(
    document_id: str, login: CurrentLogin, session: DbSession, services: ServicesDep
) -> TicketOut:
    """A single-use websocket credential for clients that cannot send the session cookie;
    it lives no longer than the login that asked for it."""
    user = login.user
    access = await require_access(session, user, document_id)
    if not access.can_open_socket:
        raise Refusal(status.HTTP_403_FORBIDDEN, "progress-only",
                      "Your role cannot open the live document")
    ticket = new_token()
    ttl = services.settings.ticket_ttl_seconds
    session.add(
        models.WsTicket(
            token_hash=token_digest(ticket),
            user_id=user.id,
            document_id=document_id,
            expires_at=utcnow() + timedelta(seconds=ttl),
            session_id=login.session_id,
        )
    )
    return TicketOut(ticket=ticket, expires_in=ttl)
