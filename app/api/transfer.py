"""Export and import (DESIGN §4, §9; README "Export and import").

`GET /api/documents/{id}/export?format=md|html|docx[&comments=1]` answers the file, named after
the document's title; `POST /api/documents/import` (multipart field `file`, a `.docx` or `.md`)
answers 201 with the new private document. Either answers `202 {job_id, job}` instead when the
conversion takes longer than `WIDEN_JOB_ANSWER_SECONDS` (`app.jobs`). The conversion itself
runs in a worker process (`app.formats.convert`); a file refused by the import's checks gets
413 (too big), 415 (not a .docx or Markdown file) or 422 (encrypted, damaged), with a `code`
and a `detail` for people, and creates nothing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from app import comments, models
from app.api.access import require_access
from app.api.deps import CurrentUser, DbSession, ServicesDep
from app.api.documents import document_out
from app.api.schemas import DocumentOut
from app.domain_errors import NotFound
from app.errors import Refusal
from app.events import staged
from app.formats.convert import MEDIA_TYPES, ExportFormat, export_document, import_file
from app.formats.limits import ImportRefused, check_size
from app.formats.notes import CommentNote, SectionOutline
from app.imports import store_import
from app.jobs import ExportFile, Job, JobFailure
from app.permissions import Access, Role, section_root
from app.services import Services
from app.workers import WorkFailed

router = APIRouter(tags=["transfer"])

_REFUSAL_STATUS = {"too-big": status.HTTP_413_CONTENT_TOO_LARGE,
                   "unsupported": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                   "encrypted": status.HTTP_422_UNPROCESSABLE_CONTENT,
                   "malformed": status.HTTP_422_UNPROCESSABLE_CONTENT}
_UNAVAILABLE = JobFailure(status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable",
                          "The conversion could not be finished; try again later")
_READ_CHUNK = 256 * 1024


def _refusal(failure: JobFailure) -> Refusal:
    return Refusal(failure.status_code, failure.code, failure.detail)


def _accepted(job: Job) -> JSONResponse:
    return JSONResponse({"job_id": job.id, "job": job.public()},
                        status_code=status.HTTP_202_ACCEPTED)


def _filename(title: str, extension: str) -> tuple[str, str]:
    """An ASCII fallback and the exact UTF-8 name, for Content-Disposition."""
    cleaned = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", title).strip(" .") or "document"
    ascii_name = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"\s+", " ", ascii_name).strip() or "document"
    return f"{ascii_name[:100]}.{extension}", f"{cleaned[:100]}.{extension}"


def file_response(file: ExportFile) -> Response:
    extension = file.filename.rsplit(".", 1)[-1]
    fallback, exact = _filename(file.filename.rsplit(".", 1)[0], extension)
    return Response(file.content, media_type=file.media_type, headers={
        "Content-Disposition":
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(exact)}"})


async def _comment_notes(session: DbSession, access: Access) -> dict[str, list[CommentNote]]:
    records = await comments.list_comments(session, access)
    authors = {c.author_id for c in records if c.author_id}
    names = dict((await session.execute(
        select(models.User.id, models.User.name).where(models.User.id.in_(authors)))).all()
    ) if authors else {}
    by_section: dict[str, list[CommentNote]] = {}
    for c in records:
        by_section.setdefault(c.section_id, []).append(CommentNote(
            author=names.get(c.author_id or "", "someone"), body=c.body, quote=c.quote,
            status=c.status, suggestion=c.suggestion, is_reply=c.parent_id is not None))
    return by_section


@router.get("/api/documents/{document_id}/export", response_model=None, responses={
    200: {"description": "The file, named after the document's title",
          "content": {media: {} for media in MEDIA_TYPES.values()}},
    202: {"description": "Still converting: follow the job (`GET /api/jobs/{job_id}`)"},
    403: {"description": "A `progress` member: their role does not read the text"},
    404: {"description": "No such document, or no access to it"},
})
async def export(document_id: str, user: CurrentUser, session: DbSession,
                 services: ServicesDep,
                 format: Annotated[ExportFormat, Query()],
                 comments: Annotated[bool, Query()] = False) -> Response:
    access = await require_access(session, user, document_id)
    if not access.can_export:
        raise Refusal(status.HTTP_403_FORBIDDEN, "progress-only",
                      "Your role follows progress; it cannot read or export the text")
    notes = await _comment_notes(session, access) if comments else {}
    sections = await session.scalars(
        select(models.Section).where(models.Section.document_id == document_id,
                                     models.Section.deleted_at.is_(None))
        .order_by(models.Section.position, models.Section.created_at))
    outlines = [SectionOutline(s.title, section_root(s.id), tuple(notes.get(s.id, ())))
                for s in sections]
    room = services.rooms.get(document_id)
    updates = ([room.doc.get_update()] if room is not None
               else await services.store.log.read(document_id, await session.connection()))
    title = access.document.title

    async def work() -> ExportFile:
        try:
            content = await services.text_workers.run(export_document, updates, title,
                                                      outlines, format)
        except WorkFailed as exc:
            raise _UNAVAILABLE from exc
        return ExportFile(content, f"{title}.{format}", MEDIA_TYPES[format])

    try:
        result = await services.jobs.run(user.id, "export", document_id, work,
                                         services.settings.job_answer_seconds)
    except JobFailure as failure:
        raise _refusal(failure) from failure
    if isinstance(result, Job):
        return _accepted(result)
    assert isinstance(result, ExportFile)
    return file_response(result)


async def _read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(_READ_CHUNK):
        size += len(chunk)
        try:
            check_size(size, max_bytes)
        except ImportRefused as refused:
            raise Refusal(_REFUSAL_STATUS[refused.kind], refused.kind, refused.detail) from None
        chunks.append(chunk)
    return b"".join(chunks)


async def _import(services: Services, user_id: str, data: bytes, filename: str) -> str:
    try:
        imported = await services.text_workers.run(
            import_file, data, filename, services.settings.import_max_unzipped_bytes)
    except ImportRefused as refused:
        raise JobFailure(_REFUSAL_STATUS[refused.kind], refused.kind, refused.detail) from None
    except WorkFailed as exc:
        raise _UNAVAILABLE from exc
    # Its own transaction: a job outlives the request's.
    async with services.sessions() as session:
        async with session.begin():
            document_id = await store_import(session, user_id, imported)
        changes = staged(session)
    await services.events.publish(changes)
    await services.search_index.changed_soon(document_id)
    return document_id


@router.post("/api/documents/import", status_code=status.HTTP_201_CREATED,
             response_model=DocumentOut, responses={
    202: {"description": "Still converting: follow the job (`GET /api/jobs/{job_id}`)"},
    413: {"description": "The file, or what a .docx unpacks to, is over the limit"},
    415: {"description": "Neither a .docx nor a Markdown file"},
    422: {"description": "An encrypted or damaged file"},
})
async def import_document(file: Annotated[UploadFile, File()], user: CurrentUser,
                          session: DbSession, services: ServicesDep) -> Any:
    data = await _read_upload(file, services.settings.import_max_bytes)
    filename = file.filename or "Imported.md"
    try:
        result = await services.jobs.run(
            user.id, "import", None, lambda: _import(services, user.id, data, filename),
            services.settings.job_answer_seconds)
    except JobFailure as failure:
        raise _refusal(failure) from failure
    if isinstance(result, Job):
        return _accepted(result)
    document = await session.get(models.Document, result)
    assert document is not None
    return await document_out(session, Access(document, Role.OWNER))


@router.get("/api/jobs/{job_id}")
async def get_job(job_id: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """An export's or import's progress: `state` `running`, `done` (with `document_id`, and an
    export's `file_url`) or `failed` (with the `status_code`, `code` and `detail` a direct
    answer would have had). Only its owner sees a job; to anyone else it does not exist."""
    job = services.jobs.get(job_id, user.id)
    if job is None:
        raise NotFound("No such job")
    return job.public()


@router.get("/api/jobs/{job_id}/file", response_model=None)
async def get_job_file(job_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    job = services.jobs.get(job_id, user.id)
    if job is None or job.file is None:
        raise NotFound("No such file (yet)")
    return file_response(job.file)
