"""Version history (DESIGN §4, §9): list and name versions, open one, compare it with the
current text, restore it. The owner and editors only (`Access.can_open_history`)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status
from sqlalchemy import select

from app import models
from app.api.access import forbid, require_access
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.schemas import (
    DiffRun,
    RestoreIn,
    UserRef,
    VersionContentOut,
    VersionDiffOut,
    VersionIn,
    VersionOut,
    VersionSectionDiffOut,
    VersionSectionOut,
    VersionWords,
)
from app.domain_errors import NotFound
from app.events import Change, section_change, stage
from app.history import reading, storage
from app.history.restore import restore
from app.models import DocumentVersion, VersionKind
from app.permissions import Access, section_root

router = APIRouter(prefix="/api/documents/{document_id}/versions", tags=["history"])


async def _history_access(session: DbSession, user: models.User, document_id: str) -> Access:
    access = await require_access(session, user, document_id)
    if not access.can_open_history:
        raise forbid("Only the owner and editors can open the history")
    return access


async def _version(session: DbSession, document_id: str, version_id: str) -> DocumentVersion:
    version = await storage.find(session, document_id, version_id)
    if version is None:
        raise NotFound("Version not found")
    return version


async def _people(session: DbSession, versions: list[DocumentVersion]) -> dict[str, UserRef]:
    ids = {i for v in versions for i in (*v.editors, v.created_by) if i is not None}
    users = await session.scalars(select(models.User).where(models.User.id.in_(ids)))
    return {u.id: UserRef(id=u.id, name=u.name) for u in users}


def _out(version: DocumentVersion, people: dict[str, UserRef]) -> VersionOut:
    return VersionOut(
        id=version.id, number=version.number, kind=version.kind, name=version.name,
        created_at=version.created_at,
        created_by=version.created_by,
        creator=people.get(version.created_by) if version.created_by else None,
        editors=[people[i] for i in version.editors if i in people],
        words=None if version.words is None else {
            sid: VersionWords(added=counts[0], removed=counts[1])
            for sid, counts in version.words.items()})


@router.get("", response_model=list[VersionOut])
async def list_versions(document_id: str, user: CurrentUser,
                        session: DbSession) -> list[VersionOut]:
    await _history_access(session, user, document_id)
    versions = await storage.listing(session, document_id)
    people = await _people(session, versions)
    return [_out(v, people) for v in versions]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VersionOut)
async def name_version(document_id: str, body: VersionIn, user: CurrentUser,
                       session: DbSession, services: ServicesDep,
                       tasks: BackgroundTasks) -> VersionOut:
    """Name the current state ("Sent to client")."""
    await _history_access(session, user, document_id)
    async with services.rooms.holding(document_id) as room:
        version = await services.history.record(
            document_id, room.doc, kind=VersionKind.NAMED, name=body.name.strip(),
            created_by=user.id, session=session)
    tasks.add_task(services.history.count_words, version.id)
    return _out(version, await _people(session, [version]))


async def _current_titles(session: DbSession, document_id: str) -> dict[str, models.Section]:
    rows = await session.scalars(select(models.Section)
                                 .where(models.Section.document_id == document_id))
    return {s.id: s for s in rows}


@router.get("/{version_id}", response_model=VersionContentOut)
async def open_version(document_id: str, version_id: str, user: CurrentUser,
                       session: DbSession, services: ServicesDep) -> VersionContentOut:
    """The version's sections (those deleted at the time too, flagged) and their text."""
    await _history_access(session, user, document_id)
    version = await _version(session, document_id, version_id)
    roots = [section_root(str(s["id"])) for s in version.sections]
    rows = await storage.rows(session, version)
    contents = await services.text_workers.run(reading.contents, rows, roots)
    now = await _current_titles(session, document_id)
    out = _out(version, await _people(session, [version]))
    sections = [
        VersionSectionOut(
            section_id=str(s["id"]), title=str(s["title"]), deleted=bool(s["deleted"]),
            deleted_now=str(s["id"]) not in now or now[str(s["id"])].deleted_at is not None,
            text=contents[section_root(str(s["id"]))][0],
            markdown=contents[section_root(str(s["id"]))][1])
        for s in version.sections]
    return VersionContentOut(**out.model_dump(), sections=sections)


@router.get("/{version_id}/diff", response_model=VersionDiffOut)
async def diff_version(document_id: str, version_id: str, user: CurrentUser,
                       session: DbSession, services: ServicesDep) -> VersionDiffOut:
    """Each section of the version or of the document now, compared: what the current
    text added (`insert`) and what it no longer has (`delete`)."""
    await _history_access(session, user, document_id)
    version = await _version(session, document_id, version_id)
    now = await _current_titles(session, document_id)
    titles = {str(s["id"]): str(s["title"]) for s in version.sections if not s["deleted"]}
    titles.update({sid: s.title for sid, s in now.items() if s.deleted_at is None})
    roots = [section_root(sid) for sid in titles]
    async with services.rooms.holding(document_id) as room:
        current = room.doc.get_update()
    rows = await storage.rows(session, version)
    runs = await services.text_workers.run(reading.diff, rows, current, roots)
    return VersionDiffOut(id=version.id, sections=[
        VersionSectionDiffOut(section_id=sid, title=title, runs=[
            DiffRun.model_validate({"op": op, "text": text})
            for op, text in runs[section_root(sid)]])
        for sid, title in titles.items()])


@router.post("/{version_id}/restore", response_model=VersionOut)
async def restore_version(document_id: str, version_id: str, body: RestoreIn,
                          user: CurrentUser, session: DbSession, services: ServicesDep,
                          tasks: BackgroundTasks) -> VersionOut:
    """Write the version's text of the sections (all by default) back, as one edit by the
    caller that every connected client receives; history lists it as a `restore`."""
    access = await _history_access(session, user, document_id)
    version = await _version(session, document_id, version_id)
    restored, revived = await restore(session, services, access, user.id, version,
                                      body.sections)
    for section in revived:
        stage(session, section_change(section, "added"))
    stage(session, Change(document_id, "progress", {}))
    tasks.add_task(services.history.count_words, restored.id)
    tasks.add_task(services.search_index.changed_soon, document_id)
    return _out(restored, await _people(session, [restored]))
