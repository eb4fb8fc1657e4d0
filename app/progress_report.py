"""One document's progress report (`GET /api/documents/{id}/progress`): sections and their
schedule, who wrote what, activity per day and the honest indicators (`app.indicators`).

Everything here is numbers, names and titles: the text itself stays in the worker that counts
it (`app.progress`), so a `progress` member's report holds no word of it. The figures come
from the attribution rows (`crdt.update_log.UpdateLog.attribution`, kept with every commit, so
they survive compaction) and the per-state cache of the current text's authorship.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import at_risk, indicators, models, progress_days
from app.api.schemas import (
    AtRiskOut,
    BalanceOut,
    ConcentrationOut,
    Contributor,
    DayActivity,
    FlagOut,
    FollowThroughOut,
    Indicators,
    MemberProgress,
    NewMember,
    ProgressOut,
    SectionChange,
    SectionProgress,
    SilentMember,
    SinceLastVisit,
    UserOut,
    WordsDay,
)
from app.models import SectionStatus
from app.permissions import Access, Role, document_members, section_root
from app.progress import TextFigures, from_epoch_ms
from app.services import Services


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class _Totals:
    __slots__ = ("deleted", "inserted", "last_at", "updates", "words_added", "words_removed")

    def __init__(self) -> None:
        self.inserted = self.deleted = self.updates = self.last_at = 0
        self.words_added = self.words_removed = 0

    def add(self, row: dict[str, Any]) -> None:
        self.inserted += int(row["chars_inserted"])
        self.deleted += int(row["chars_deleted"])
        self.words_added += int(row["words_inserted"])
        self.words_removed += int(row["words_deleted"])
        self.updates += int(row["updates"])
        self.last_at = max(self.last_at, int(row["last_at"]))


async def visit(session: AsyncSession, document_id: str, user_id: str, now: datetime,
                report: ProgressOut, gap: timedelta) -> None:
    """Note that a member opened the progress page (invitation follow-through), tell them in
    `report` what moved since their previous visit, and keep what it shows for the next.

    Loads closer together than `gap` (WIDEN_PROGRESS_VISIT_GAP_SECONDS) are one visit: the
    page refetches on every live event, and would otherwise compare itself with itself a
    second earlier. So each load keeps what it showed (`seen`), and a visit compares with
    what the previous visit showed last (`baseline`, taken from `seen` when a visit starts).
    """
    view = await session.get(models.ProgressView, (document_id, user_id))
    if view is None:
        session.add(models.ProgressView(document_id=document_id, user_id=user_id,
                                        first_viewed_at=now, last_viewed_at=now,
                                        seen=snapshot(report)))
    else:
        if now - view.last_viewed_at >= gap:
            view.baseline, view.baseline_at = view.seen, view.last_viewed_at
        if view.baseline is not None and view.baseline_at is not None:
            report.since_last_visit = since(view.baseline, view.baseline_at, report)
        view.last_viewed_at = now
        view.seen = snapshot(report)
    await session.flush()


def snapshot(report: ProgressOut) -> dict[str, Any]:
    """The figures of a report that "since you last looked" compares: numbers only."""
    return {
        "members": {m.user_id: [m.chars_inserted, m.chars_deleted, m.words_added,
                                m.words_removed] for m in report.members},
        "sections": {s.id: [s.words, s.status] for s in report.sections},
        "member_ids": sorted(m.user_id for m in report.members if m.role is not None),
        "flags": [f.flag for f in report.flags],
    }


def since(seen: dict[str, Any], seen_at: datetime, report: ProgressOut) -> SinceLastVisit:
    members: dict[str, list[int]] = seen.get("members", {})
    sections: dict[str, list[Any]] = seen.get("sections", {})
    inserted = deleted = added = removed = 0
    active: list[str] = []
    for member in report.members:
        before = members.get(member.user_id, [0, 0, 0, 0])
        # Snapshots from before words were kept compare words as if nothing changed.
        before_added, before_removed = (before[2:4] if len(before) >= 4
                                        else [member.words_added, member.words_removed])
        inserted += member.chars_inserted - before[0]
        deleted += member.chars_deleted - before[1]
        added += member.words_added - before_added
        removed += member.words_removed - before_removed
        if (member.chars_inserted, member.chars_deleted) != (before[0], before[1]):
            active.append(member.user_id)
    changes = []
    for section in report.sections:
        words_before, status_before = sections.get(section.id, [None, None])
        if (words_before, status_before) != (section.words, section.status):
            changes.append(SectionChange(id=section.id, title=section.title,
                                         words_before=words_before, words_now=section.words,
                                         status_before=status_before,
                                         status_now=section.status))
    # Snapshots from before members and flags were kept compare as if nothing changed there.
    then_members = set(seen.get("member_ids", [m.user_id for m in report.members]))
    now_flags = [f.flag for f in report.flags]
    then_flags: list[str] = seen.get("flags", now_flags)
    return SinceLastVisit(
        previous_visit_at=seen_at, chars_inserted=inserted, chars_deleted=deleted,
        words_added=added, words_removed=removed,
        active_user_ids=active, sections=changes,
        new_members=[NewMember(user_id=m.user_id, name=m.name) for m in report.members
                     if m.role is not None and m.user_id not in then_members],
        flags_raised=[f for f in now_flags if f not in then_flags],
        flags_cleared=[f for f in then_flags if f not in now_flags])


async def build(session: AsyncSession, services: Services, access: Access, user_id: str,
                now: datetime) -> ProgressOut:
    """The report, as `user_id` (whose access it is) may see it: the at-risk flag of a
    section only for its owner and assignee. Keeps today's words if they were counted
    (`app.progress_days`)."""
    document = access.document
    sections = list(await session.scalars(
        select(models.Section).where(models.Section.document_id == document.id,
                                     models.Section.deleted_at.is_(None))
        .order_by(models.Section.position, models.Section.created_at)))
    roots = [section_root(s.id) for s in sections]
    # The store reads through this request's connection: a second one could deadlock the pool.
    conn = await session.connection()
    store = services.store.log
    contributions = await store.contributions(document.id, conn)
    rows = await store.attribution(document.id, conn)
    client_owners = await store.client_origins(document.id, conn)
    figures = await services.text_figures.of(document.id, roots, conn)
    members = await document_members(session, document.id)
    grants = {g.user_id: g for g in await session.scalars(
        select(models.Grant).where(models.Grant.document_id == document.id))}

    by_user: dict[str, _Totals] = defaultdict(_Totals)
    by_root: dict[str, _Totals] = defaultdict(_Totals)
    by_day: dict[date, _Totals] = defaultdict(_Totals)
    active_on: dict[date, set[str]] = defaultdict(set)
    for row in rows:
        by_user[row["origin"]].add(row)
        by_root[row["root"]].add(row)
        by_day[row["day"]].add(row)
        if row["updates"]:
            active_on[row["day"]].add(row["origin"])
    current_by_user, current_by_root = _current_text(figures, roots, client_owners)

    user_ids = (set(members) | set(by_user) | {str(c["origin"]) for c in contributions}
                | {s.assignee_id for s in sections if s.assignee_id})
    users = {u.id: u for u in await session.scalars(
        select(models.User).where(models.User.id.in_(user_ids)))}

    settings = services.settings
    stalled_days = settings.progress_stalled_days
    today = now.date()
    last_activity = [from_epoch_ms(by_root[root].last_at) if root in by_root else s.created_at
                     for s, root in zip(sections, roots, strict=True)]
    days = await progress_days.series(session, document.id)
    risks = {r.section_id: AtRiskOut(reason=r.reason, explanation=r.explanation)
             for r in at_risk.flagged_sections(
                 (at_risk.SectionFigures(
                     id=s.id, status=s.status, due_date=s.due_date, target_words=s.target_words,
                     words=figures.words.get(root, 0) if figures is not None else None,
                     last_activity=last, created_at=s.created_at)
                  for s, root, last in zip(sections, roots, last_activity, strict=True)
                  if access.answers_for(user_id, s.assignee_id)),
                 {d.day: d.sections for d in days}, now,
                 near_days=settings.progress_at_risk_days,
                 quiet_days=settings.progress_quiet_days)}
    section_rows = [
        SectionProgress(
            id=s.id, title=s.title, status=s.status,
            assignee=UserOut.model_validate(users[s.assignee_id])
            if s.assignee_id in users else None,
            due_date=s.due_date,
            overdue=(s.due_date is not None and s.due_date < today
                     and s.status != SectionStatus.DONE),
            words=figures.words.get(root, 0) if figures is not None else None,
            schedule=indicators.schedule(s.status, s.due_date, last, now, stalled_days),
            target_words=s.target_words,
            at_risk=risks.get(s.id),
            last_edit_at=from_epoch_ms(by_root[root].last_at) if root in by_root else None,
            chars_inserted=by_root[root].inserted if root in by_root else 0,
            chars_deleted=by_root[root].deleted if root in by_root else 0,
            chars_current=current_by_root.get(root, 0) if figures is not None else None,
        )
        for s, root, last in zip(sections, roots, last_activity, strict=True)
    ]
    contributors = sorted(
        (Contributor(user=UserOut.model_validate(users[str(c["origin"])]), edits=int(c["updates"]),
                     last_edit_at=from_epoch_ms(int(c["last_at"])))
         for c in contributions if str(c["origin"]) in users),
        key=lambda c: c.edits, reverse=True,
    )
    last_edit = {c.user.id: c.last_edit_at for c in contributors}
    total_current = sum(current_by_root.values())
    member_rows = [
        _member_row(user_id, users[user_id].name, members.get(user_id), by_user.get(user_id),
                    current_by_user.get(user_id, 0) if figures is not None else None,
                    total_current, last_edit.get(user_id))
        for user_id in sorted((set(members) | set(by_user)) & users.keys(),
                              key=lambda i: users[i].name)
    ]
    activity = [DayActivity(day=day, chars_inserted=t.inserted, chars_deleted=t.deleted,
                            words_added=t.words_added, words_removed=t.words_removed,
                            updates=t.updates, active_members=len(active_on[day]))
                for day, t in sorted(by_day.items())]
    open_dues = [s.due_date for s in sections if s.due_date and s.status != SectionStatus.DONE]
    report_indicators = await _indicators(session, document, members, grants, users, rows,
                                          current_by_user, total_current, figures is not None)
    raised = indicators.flags(
        late=sum(1 for r in section_rows if r.schedule == "late"),
        stalled=sum(1 for r in section_rows if r.schedule == "stalled"),
        concentrated=report_indicators.concentration.flagged,
        silent=len(report_indicators.silent_members))
    words_total = sum(figures.words.values()) if figures is not None else None
    if figures is not None:
        await progress_days.record(session, document.id,
                                   {r.id: r.words or 0 for r in section_rows},
                                   report_indicators.concentration.flagged,
                                   progress_days.activity(rows), now)
    return ProgressOut(
        document_id=document.id, title=document.title, role=access.role.value,
        sections_total=len(sections),
        sections_done=sum(1 for s in sections if s.status == SectionStatus.DONE),
        words_total=words_total,
        next_due=min(open_dues) if open_dues else None,
        last_edit_at=max((c.last_edit_at for c in contributors), default=None),
        sections=section_rows, contributors=contributors,
        members=member_rows, activity=activity,
        indicators=report_indicators,
        words_series=[WordsDay(day=d.day, words=d.words, sections=d.sections)
                      for d in days],
        flags=[FlagOut(flag=f, explanation=indicators.FLAG_EXPLANATIONS[f]) for f in raised],
    )


def _current_text(figures: TextFigures | None, roots: list[str],
                  client_owners: dict[int, str | None]) -> tuple[dict[str, int], dict[str, int]]:
    """Characters of the current text of the sections, per user and per root."""
    by_user: dict[str, int] = defaultdict(int)
    by_root: dict[str, int] = {}
    if figures is None:
        return by_user, by_root
    for root in roots:
        per_client = figures.surviving.get(root, {})
        by_root[root] = sum(per_client.values())
        for client_id, count in per_client.items():
            owner = client_owners.get(client_id)
            if owner is not None:
                by_user[owner] += count
    return by_user, by_root


def _member_row(user_id: str, name: str, access: Access | None, totals: _Totals | None,
                current: int | None, total_current: int,
                last_edit: datetime | None) -> MemberProgress:
    last_active = from_epoch_ms(totals.last_at) if totals is not None else None
    if last_edit is not None and (last_active is None or last_edit > last_active):
        last_active = last_edit
    return MemberProgress(
        user_id=user_id, name=name, role=access.role.value if access is not None else None,
        chars_inserted=totals.inserted if totals else 0,
        chars_deleted=totals.deleted if totals else 0,
        words_added=totals.words_added if totals else 0,
        words_removed=totals.words_removed if totals else 0,
        updates=totals.updates if totals else 0,
        chars_current=current,
        share=(current / total_current if current is not None and total_current else None),
        last_active=last_active)


async def _indicators(session: AsyncSession, document: models.Document,
                      members: dict[str, Access], grants: dict[str, models.Grant],
                      users: dict[str, models.User], rows: list[dict[str, Any]],
                      current_by_user: dict[str, int], total_current: int,
                      text_counted: bool) -> Indicators:
    last_comment = dict((await session.execute(
        select(models.Comment.author_id, func.max(models.Comment.created_at))
        .where(models.Comment.document_id == document.id)
        .group_by(models.Comment.author_id))).tuples().all())
    views = {v.user_id: v for v in await session.scalars(
        select(models.ProgressView).where(models.ProgressView.document_id == document.id))}

    def since(user_id: str) -> datetime:
        grant = grants.get(user_id)
        return grant.created_at if grant is not None else document.created_at

    def wrote(user_id: str, roots: set[str] | None = None) -> bool:
        after = _ms(since(user_id))
        return any(row["origin"] == user_id and row["updates"] and row["last_at"] >= after
                   and (roots is None or row["root"] in roots) for row in rows)

    def commented(user_id: str) -> bool:
        last = last_comment.get(user_id)
        return last is not None and last >= since(user_id)

    writers = [user_id for user_id, access in members.items() if access.writes_text]
    silent: list[SilentMember] = []
    for user_id, access in sorted(members.items(), key=lambda m: users[m[0]].name
                                  if m[0] in users else m[0]):
        if user_id not in users:
            continue
        if access.writes_text and not wrote(user_id):
            explanation = "can write but has not written anything since joining"
        elif access.role is Role.REVIEWER and not commented(user_id):
            explanation = "invited to review but has not commented since joining"
        else:
            continue
        silent.append(SilentMember(user_id=user_id, name=users[user_id].name,
                                   role=access.role.value, since=since(user_id),
                                   explanation=explanation))

    follow: list[FollowThroughOut] = []
    for user_id, grant in grants.items():
        if grant.reason is None or user_id not in users:
            continue
        scoped = {section_root(s) for s in grant.sections} if grant.sections else None
        view = views.get(user_id)
        done = indicators.followed_through(
            grant.reason, wrote=wrote(user_id, scoped), commented=commented(user_id),
            viewed=view is not None and view.last_viewed_at >= grant.created_at)
        texts = indicators.FOLLOW_THROUGH_EXPLANATIONS.get(grant.reason,
                                                           indicators.FOLLOW_THROUGH_EXPLANATIONS["other"])
        follow.append(FollowThroughOut(user_id=user_id, name=users[user_id].name,
                                       role=grant.role, reason=grant.reason,
                                       followed_through=done,
                                       explanation=texts[0] if done else texts[1]))

    top = indicators.concentration(current_by_user if text_counted else {}, total_current,
                                   len(writers))
    balance = indicators.gini(current_by_user.get(user_id, 0) for user_id in writers)
    return Indicators(
        concentration=ConcentrationOut(top_user_id=top.top_user_id, share=top.share,
                                       writers=top.writers, flagged=top.flagged,
                                       explanation=top.explanation),
        silent_members=silent,
        balance=BalanceOut(gini=balance, explanation=indicators.balance_explanation(balance)),
        follow_through=sorted(follow, key=lambda f: f.name),
    )
