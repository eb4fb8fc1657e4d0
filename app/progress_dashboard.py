"""The manager's dashboard (`GET /api/progress`): one row per document I may see progress of.

A manager may follow a thousand documents, so this never opens or rebuilds one: every figure
is a SQL aggregate over all of them at once (sections, attribution, grants, comments) or the
words kept per day (`app.progress_days`). A document whose words were never counted says so
(`words_total` None) rather than being read here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app import indicators, models
from app.api.schemas import FlagOut, ProgressSummary
from app.models import SectionStatus
from app.permissions import Role, section_root, visible_ids
from app.progress import from_epoch_ms
from app.progress_days import TREND_DAYS, Activity, activity, trend
from crdt.schema import doc_attribution, doc_contributions

_STATUSES = tuple(status.value for status in SectionStatus)
_NOTHING = Activity({}, {})
_FLAGS = {flag: FlagOut(flag=flag, explanation=text)
          for flag, text in indicators.FLAG_EXPLANATIONS.items()}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class _Section:
    status: str
    due_date: date | None
    root: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class _Latest:
    """A document's latest kept count."""
    words: int
    concentrated: bool
    counted_at: datetime
    activity: Activity


async def summaries(session: AsyncSession, user_id: str, now: datetime,
                    stalled_days: int) -> list[ProgressSummary]:
    """Plain column queries, not ORM objects: a thousand documents are some 25,000 rows, and
    building an object per row cost more than the queries."""
    document, grant = models.Document, models.Grant
    documents = (await session.execute(
        select(document.id, document.title, document.owner_id, document.created_at, grant.role)
        .outerjoin(grant, (grant.document_id == document.id) & (grant.user_id == user_id))
        .where(or_(document.owner_id == user_id, grant.id.is_not(None)),
               document.deleted_at.is_(None))
        .order_by(document.updated_at.desc()))).tuples().all()
    if not documents:
        return []
    ids = visible_ids(user_id).scalar_subquery()
    today = now.date()

    sections: dict[str, list[_Section]] = defaultdict(list)
    section = models.Section
    for document_id, section_id, status, due, created in (await session.execute(
            select(section.document_id, section.id, section.status, section.due_date,
                   section.created_at)
            .where(section.document_id.in_(ids), section.deleted_at.is_(None)))).tuples():
        sections[document_id].append(_Section(status, due, section_root(section_id), created))

    commented: dict[tuple[str, str | None], datetime] = {
        (d, a): last for d, a, last in (await session.execute(
            select(models.Comment.document_id, models.Comment.author_id,
                   func.max(models.Comment.created_at))
            .where(models.Comment.document_id.in_(ids))
            .group_by(models.Comment.document_id, models.Comment.author_id))).tuples()}
    members: dict[str, list[tuple[str, Role, datetime]]] = defaultdict(list)
    for document_id, member, role, since in (await session.execute(
            select(grant.document_id, grant.user_id, grant.role, grant.created_at)
            .where(grant.document_id.in_(ids)))).tuples():
        members[document_id].append((member, Role(role), since))
    last_edit: dict[str, int] = {
        d: int(last) for d, last in (await session.execute(
            select(doc_contributions.c.document_id, func.max(doc_contributions.c.last_at))
            .join(models.User, models.User.id == doc_contributions.c.origin)
            .where(doc_contributions.c.document_id.in_(ids))
            .group_by(doc_contributions.c.document_id))).tuples()}
    days, latest_rows = await _days(session, ids, today)
    # Documents whose words were never counted have no kept activity: read theirs from the
    # attribution rows (none, or few: every edit window keeps a row).
    uncounted = [d[0] for d in documents if d[0] not in latest_rows]
    activity = {d: row.activity for d, row in latest_rows.items()}
    activity.update(await _uncounted_activity(session, uncounted))
    trend_days = [today - timedelta(days=back) for back in range(TREND_DAYS - 1, -1, -1)]

    rows = []
    for document_id, title, owner_id, created_at, role in documents:
        latest = latest_rows.get(document_id)
        done = activity.get(document_id, _NOTHING)
        own = sections[document_id]
        schedules = [indicators.schedule(
            s.status, s.due_date,
            from_epoch_ms(done.section_edits[s.root]) if s.root in done.section_edits
            else s.created_at,
            now, stalled_days) for s in own]
        late = schedules.count("late")
        stalled = schedules.count("stalled")
        silent = _silent(document_id, [(owner_id, Role.OWNER, created_at),
                                       *members[document_id]], done.writers, commented)
        raised = indicators.flags(late=late, stalled=stalled,
                                  concentrated=latest is not None and latest.concentrated,
                                  silent=silent)
        status_counts = dict.fromkeys(_STATUSES, 0)
        for s in own:
            status_counts[s.status] = status_counts.get(s.status, 0) + 1
        open_dues = [s.due_date for s in own if s.due_date and s.status != SectionStatus.DONE]
        # Built without validation: every field comes from the database through typed code
        # just above, and validating a thousand rows cost a tenth of the request.
        rows.append(ProgressSummary.model_construct(
            document_id=document_id, title=title,
            role=Role.OWNER.value if owner_id == user_id else role,
            sections_total=len(own),
            sections_done=status_counts[SectionStatus.DONE],
            status_counts=status_counts,
            words_total=latest.words if latest is not None else None,
            words_counted_at=latest.counted_at if latest is not None else None,
            trend=trend(days.get(document_id, {}), trend_days),
            next_due=min(open_dues) if open_dues else None,
            late=late, stalled=stalled,
            last_edit_at=from_epoch_ms(last_edit[document_id])
            if document_id in last_edit else None,
            flags=[_FLAGS[f] for f in raised]))
    return rows


async def _days(session: AsyncSession, ids: ScalarSelect[str],
                today: date) -> tuple[dict[str, dict[date, int]], dict[str, _Latest]]:
    """Per document: its words on the trend's days, and on the last day counted before them
    (carried into the trend's first days); and its latest row."""
    start = today - timedelta(days=TREND_DAYS - 1)
    day = models.ProgressDay

    def last_day(*where: ColumnElement[bool]) -> Select[str, date]:
        return (select(day.document_id, func.max(day.day))
                .where(day.document_id.in_(ids), *where).group_by(day.document_id))

    words: dict[str, dict[date, int]] = defaultdict(dict)
    for query in (select(day.document_id, day.day, day.words)
                  .where(day.document_id.in_(ids), day.day >= start),
                  select(day.document_id, day.day, day.words)
                  .where(tuple_(day.document_id, day.day).in_(last_day(day.day < start)))):
        for document_id, on, count in (await session.execute(query)).tuples():
            words[document_id][on] = count
    latest = {
        document_id: _Latest(count, concentrated, counted_at, Activity(edits, writers))
        for document_id, count, concentrated, counted_at, edits, writers in (
            await session.execute(
                select(day.document_id, day.words, day.concentrated, day.counted_at,
                       day.section_edits, day.writers)
                .where(tuple_(day.document_id, day.day).in_(last_day())))).tuples()}
    return words, latest


async def _uncounted_activity(session: AsyncSession,
                              document_ids: list[str]) -> dict[str, Activity]:
    if not document_ids:
        return {}
    rows = await session.execute(
        select(doc_attribution.c.document_id, doc_attribution.c.origin,
               doc_attribution.c.root, doc_attribution.c.updates, doc_attribution.c.last_at)
        .where(doc_attribution.c.document_id.in_(document_ids)))
    by_document: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows.mappings():
        by_document[row["document_id"]].append(dict(row))
    return {d: activity(r) for d, r in by_document.items()}


def _silent(document_id: str, members: list[tuple[str, Role, datetime]],
            wrote: dict[str, int], commented: dict[tuple[str, str | None], datetime]) -> int:
    """Members who can write and have not since joining, and reviewers who have not
    commented: as `app.progress_report` counts them for one document."""
    silent = 0
    for user_id, role, since in members:
        if role in (Role.OWNER, Role.EDITOR):
            silent += wrote.get(user_id, -1) < _ms(since)
        elif role is Role.REVIEWER:
            last = commented.get((document_id, user_id))
            silent += last is None or last < since
    return silent
