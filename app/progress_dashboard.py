"""The manager's dashboard (`GET /api/progress`): one row per document I may see progress of.

A manager may follow a thousand documents, so this never opens or rebuilds one: every figure
is a SQL aggregate over all of them at once (sections, attribution, grants, comments) or the
words kept per day (`app.progress_days`). A document whose words were never counted says so
(`words_total` None) rather than being read here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import ScalarSelect, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app import indicators, models
from app.api.schemas import FlagOut, ProgressSummary
from app.models import SectionStatus
from app.permissions import Access, Role, accessible_documents, section_root, visible_ids
from app.progress import from_epoch_ms
from app.progress_days import TREND_DAYS, trend
from crdt.schema import doc_attribution, doc_contributions


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def summaries(session: AsyncSession, user_id: str, now: datetime,
                    stalled_days: int) -> list[ProgressSummary]:
    documents = await accessible_documents(session, user_id)
    if not documents:
        return []
    ids = visible_ids(user_id).scalar_subquery()
    today = now.date()

    sections: dict[str, list[models.Section]] = defaultdict(list)
    for section in await session.scalars(
            select(models.Section).where(models.Section.document_id.in_(ids),
                                         models.Section.deleted_at.is_(None))):
        sections[section.document_id].append(section)

    root_edit: dict[tuple[str, str], int] = {
        (d, r): int(last) for d, r, last in (await session.execute(
            select(doc_attribution.c.document_id, doc_attribution.c.root,
                   func.max(doc_attribution.c.last_at))
            .where(doc_attribution.c.document_id.in_(ids))
            .group_by(doc_attribution.c.document_id, doc_attribution.c.root))).tuples()}
    wrote: dict[tuple[str, str], int] = {
        (d, o): int(last) for d, o, last in (await session.execute(
            select(doc_attribution.c.document_id, doc_attribution.c.origin,
                   func.max(doc_attribution.c.last_at))
            .where(doc_attribution.c.document_id.in_(ids), doc_attribution.c.updates > 0)
            .group_by(doc_attribution.c.document_id, doc_attribution.c.origin))).tuples()}
    commented: dict[tuple[str, str | None], datetime] = {
        (d, a): last for d, a, last in (await session.execute(
            select(models.Comment.document_id, models.Comment.author_id,
                   func.max(models.Comment.created_at))
            .where(models.Comment.document_id.in_(ids))
            .group_by(models.Comment.document_id, models.Comment.author_id))).tuples()}
    grants: dict[str, list[models.Grant]] = defaultdict(list)
    for grant in await session.scalars(select(models.Grant)
                                       .where(models.Grant.document_id.in_(ids))):
        grants[grant.document_id].append(grant)
    last_edit: dict[str, int] = {
        d: int(last) for d, last in (await session.execute(
            select(doc_contributions.c.document_id, func.max(doc_contributions.c.last_at))
            .join(models.User, models.User.id == doc_contributions.c.origin)
            .where(doc_contributions.c.document_id.in_(ids))
            .group_by(doc_contributions.c.document_id))).tuples()}
    days = await _days(session, ids, today)

    rows = []
    for access in documents:
        document_id = access.document.id
        kept = days.get(document_id, [])
        latest = kept[-1] if kept else None
        schedules = [indicators.schedule(
            s.status, s.due_date,
            from_epoch_ms(root_edit[(document_id, section_root(s.id))])
            if (document_id, section_root(s.id)) in root_edit else s.created_at,
            now, stalled_days) for s in sections[document_id]]
        late = schedules.count("late")
        stalled = schedules.count("stalled")
        silent = _silent(access, grants[document_id], wrote, commented)
        raised = indicators.flags(late=late, stalled=stalled,
                                  concentrated=latest is not None and latest.concentrated,
                                  silent=silent)
        status_counts = {status.value: 0 for status in SectionStatus}
        for s in sections[document_id]:
            status_counts[s.status] = status_counts.get(s.status, 0) + 1
        open_dues = [s.due_date for s in sections[document_id]
                     if s.due_date and s.status != SectionStatus.DONE]
        rows.append(ProgressSummary(
            document_id=document_id, title=access.document.title, role=access.role.value,
            sections_total=len(sections[document_id]),
            sections_done=status_counts[SectionStatus.DONE],
            status_counts=status_counts,
            words_total=latest.words if latest is not None else None,
            words_counted_at=latest.counted_at if latest is not None else None,
            trend=trend(((d.day, d.words) for d in kept), today),
            next_due=min(open_dues) if open_dues else None,
            late=late, stalled=stalled,
            last_edit_at=from_epoch_ms(last_edit[document_id])
            if document_id in last_edit else None,
            flags=[FlagOut(flag=f, explanation=indicators.FLAG_EXPLANATIONS[f])
                   for f in raised]))
    return rows


async def _days(session: AsyncSession, ids: ScalarSelect[str],
                today: date) -> dict[str, list[models.ProgressDay]]:
    """Per document, oldest first: the rows of the trend's days, and the last row before
    them (carried into the trend's first days, and the latest count if none is newer)."""
    start = today - timedelta(days=TREND_DAYS - 1)
    day = models.ProgressDay
    before = (select(day.document_id, func.max(day.day))
              .where(day.document_id.in_(ids), day.day < start)
              .group_by(day.document_id))
    found: dict[str, list[models.ProgressDay]] = defaultdict(list)
    for query in (select(day).where(day.document_id.in_(ids),
                                    day.day >= start),
                  select(day).where(tuple_(day.document_id, day.day).in_(before))):
        for row in await session.scalars(query):
            found[row.document_id].append(row)
    for rows in found.values():
        rows.sort(key=lambda r: r.day)
    return found


def _silent(access: Access, grants: list[models.Grant],
            wrote: dict[tuple[str, str], int],
            commented: dict[tuple[str, str | None], datetime]) -> int:
    """Members who can write and have not since joining, and reviewers who have not
    commented: as `app.progress_report` counts them for one document."""
    document = access.document
    members = [(document.owner_id, Role.OWNER, document.created_at),
               *((g.user_id, Role(g.role), g.created_at) for g in grants)]
    silent = 0
    for user_id, role, since in members:
        if role in (Role.OWNER, Role.EDITOR):
            silent += wrote.get((document.id, user_id), -1) < _ms(since)
        elif role is Role.REVIEWER:
            last = commented.get((document.id, user_id))
            silent += last is None or last < since
    return silent
