"""The progress digest: per member who subscribed, daily or weekly, a mail of what moved in
each document they follow since their previous digest (`app.digest_texts`).

Built from the figures the dashboard keeps (`app.progress_dashboard.summaries`, sections,
grants, the latest `progress_days` row), never by reading a document, so it holds numbers,
titles and names only. A run for one member happens in one transaction: claiming it (a
conditional UPDATE of `covered_until`, so two processes never both send it), queueing its mail
in the outbox and keeping what it said (`DigestMark`) commit together or not at all. A server
that stops mid-run sends that member's digest at its next look; one sent is never sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import at_risk, indicators, models, outbox
from app.digest_texts import DocumentMoves, digest
from app.models import DigestFrequency
from app.permissions import section_root
from app.progress import from_epoch_ms
from app.progress_dashboard import summaries
from app.settings import Settings
from app.timeutil import utcnow

log = logging.getLogger("widen.digest")

# Digest moments count from a Monday at midnight UTC.
_ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)
# Figures of one document as a digest keeps them (JSON): see `_figures`.
Figures = dict[str, Any]


def last_moment(frequency: str, now: datetime, settings: Settings) -> datetime:
    """The latest scheduled digest moment at or before `now`: daily at `digest_hour`, weekly
    on `digest_weekday` at that hour (in digest "days" of `digest_day_seconds`)."""
    day = timedelta(seconds=settings.digest_day_seconds)
    start = _ORIGIN + day * (settings.digest_hour / 24)
    period = day
    if frequency == DigestFrequency.WEEKLY:
        start += day * settings.digest_weekday
        period = day * 7
    return start + period * ((now - start) // period)


async def at_risk_sections(session: AsyncSession, user_id: str, document_ids: list[str],
                           now: datetime, settings: Settings) -> dict[str, dict[str, str]]:
    """Sections at risk of missing their date, per document (id: title), as the progress page
    flags them (`app.at_risk`), and only those the member answers for (the document's owner,
    or the section's assignee): a manager's digest never carries them, as their page doesn't."""
    if not document_ids:
        return {}
    section, document = models.Section, models.Document
    rows = (await session.execute(
        select(section, document.owner_id)
        .join(document, document.id == section.document_id)
        .where(section.document_id.in_(document_ids), section.deleted_at.is_(None),
               section.due_date.is_not(None))
        .where((document.owner_id == user_id) | (section.assignee_id == user_id)))).tuples().all()
    if not rows:
        return {}
    day = models.ProgressDay
    kept: dict[str, list[models.ProgressDay]] = defaultdict(list)
    for kept_day in await session.scalars(
            select(day).where(day.document_id.in_({s.document_id for s, _ in rows}))
            .order_by(day.day)):
        kept[kept_day.document_id].append(kept_day)
    flagged: dict[str, dict[str, str]] = defaultdict(dict)
    for document_id in {s.document_id for s, _ in rows}:
        days = kept[document_id]
        latest = days[-1] if days else None
        sections = [s for s, _ in rows if s.document_id == document_id]
        figures = [at_risk.SectionFigures(
            id=s.id, status=s.status, due_date=s.due_date, target_words=s.target_words,
            words=latest.sections.get(s.id) if latest is not None else None,
            last_activity=from_epoch_ms(edit) if latest is not None and (
                edit := latest.section_edits.get(section_root(s.id))) else s.created_at,
            created_at=s.created_at) for s in sections]
        titles = {s.id: s.title for s in sections}
        for risk in at_risk.flagged_sections(
                figures, {d.day: d.sections for d in days}, now,
                near_days=settings.progress_at_risk_days,
                quiet_days=settings.progress_quiet_days):
            flagged[document_id][risk.section_id] = titles[risk.section_id]
    return dict(flagged)


async def _figures(session: AsyncSession, user_id: str, now: datetime,
                   settings: Settings) -> dict[str, Figures]:
    """Every document the member follows, as the dashboard sees it, with the titles of its
    done, late, stalled and at-risk sections and the names of its members."""
    stalled_days = settings.progress_stalled_days
    rows = await summaries(session, user_id, now, stalled_days)
    ids = [row.document_id for row in rows]
    if not ids:
        return {}
    day = models.ProgressDay
    latest = (select(day.document_id, func.max(day.day))
              .where(day.document_id.in_(ids)).group_by(day.document_id))
    edits: dict[str, dict[str, int]] = dict((await session.execute(
        select(day.document_id, day.section_edits)
        .where(tuple_(day.document_id, day.day).in_(latest)))).tuples().all())
    section = models.Section
    per_document: dict[str, dict[str, dict[str, str]]] = defaultdict(
        lambda: {"done": {}, "late": {}, "stalled": {}})
    for document_id, section_id, title, status, due, created in (await session.execute(
            select(section.document_id, section.id, section.title, section.status,
                   section.due_date, section.created_at)
            .where(section.document_id.in_(ids), section.deleted_at.is_(None)))).tuples():
        last = edits.get(document_id, {}).get(section_root(section_id))
        state = indicators.schedule(status, due, from_epoch_ms(last) if last else created,
                                    now, stalled_days)
        if state in per_document[document_id]:
            per_document[document_id][state][section_id] = title
    members: dict[str, dict[str, str]] = defaultdict(dict)
    for document_id, member_id, name in (await session.execute(
            select(models.Grant.document_id, models.User.id, models.User.name)
            .join(models.User, models.User.id == models.Grant.user_id)
            .where(models.Grant.document_id.in_(ids)))).tuples():
        members[document_id][member_id] = name
    risky = await at_risk_sections(session, user_id, ids, now, settings)
    return {row.document_id: {
        "title": row.title, "words": row.words_total, "sections_total": row.sections_total,
        **per_document[row.document_id], "at_risk": risky.get(row.document_id, {}),
        "flags": [flag.flag for flag in row.flags], "members": members[row.document_id],
    } for row in rows}


def moves(before: Figures | None, now: Figures) -> DocumentMoves | None:
    """What moved in a document between two digests' figures; None if nothing did."""
    if before == now:
        return None
    words_change = (now["words"] - before["words"]
                    if before is not None and before["words"] is not None
                    and now["words"] is not None else None)
    new_members = ([name for member, name in now["members"].items()
                    if member not in before["members"]] if before is not None else [])
    newly_done = [title for section, title in now["done"].items()
                  if before is None or section not in before["done"]]
    return DocumentMoves(
        title=now["title"], first=before is None, words=now["words"],
        words_change=words_change, sections_total=now["sections_total"],
        sections_done=len(now["done"]), newly_done=sorted(newly_done),
        late=sorted(now["late"].values()), stalled=sorted(now["stalled"].values()),
        at_risk=sorted(now["at_risk"].values()), flags=now["flags"],
        new_members=sorted(new_members))


async def _run_for(session: AsyncSession, settings: Settings, user: models.User,
                   frequency: str, now: datetime) -> bool:
    """One member's digest, in the caller's transaction: whether a mail was queued. Without a
    mail (nothing moved, or no verified address) the marks stay, so the next digest tells
    everything since the last one that went out."""
    left_out = set(await session.scalars(select(models.DigestOptOut.document_id)
                                         .where(models.DigestOptOut.user_id == user.id)))
    followed = {d: f for d, f in (await _figures(session, user.id, now, settings)).items()
                if d not in left_out}
    marks = {m.document_id: m for m in await session.scalars(
        select(models.DigestMark).where(models.DigestMark.user_id == user.id))}
    reported = [(d, moved) for d, figures in followed.items()
                if (moved := moves(marks[d].figures if d in marks else None, figures))]
    if not reported or not settings.sends_mail or user.email_verified_at is None:
        return False
    subject, text, html = digest(name=user.name, frequency=frequency,
                                 documents=[moved for _, moved in reported],
                                 link=f"{settings.link_base}/#/progress")
    outbox.queue(session, to_address=user.email, subject=subject, body=text, html=html)
    for document_id, _ in reported:
        if document_id in marks:
            marks[document_id].figures = followed[document_id]
            marks[document_id].covered_at = now
        else:
            session.add(models.DigestMark(user_id=user.id, document_id=document_id,
                                          figures=followed[document_id], covered_at=now))
    log.info("digest queued", extra={"event": "digest.queued", "user_id": user.id,
                                     "documents": len(reported)})
    return True


async def send_due(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                   now: datetime) -> int:
    """Run every digest due at `now`; how many mails were queued."""
    subscription = models.DigestSubscription
    async with sessions() as session:
        # Weekly moments are daily ones too, so no digest is due that this filter leaves out.
        candidates = (await session.execute(
            select(subscription.user_id, subscription.frequency, subscription.covered_until)
            .where(subscription.covered_until
                   < last_moment(DigestFrequency.DAILY, now, settings)))).tuples().all()
    queued = 0
    for user_id, frequency, covered_until in candidates:
        if covered_until >= last_moment(frequency, now, settings):
            continue
        async with sessions.begin() as session:
            claimed = await session.execute(
                update(subscription)
                .where(subscription.user_id == user_id,
                       subscription.covered_until == covered_until)
                .values(covered_until=now).execution_options(synchronize_session=False))
            user = await session.get(models.User, user_id)
            if claimed.rowcount != 1 or user is None:  # type: ignore[attr-defined]
                continue
            queued += await _run_for(session, settings, user, frequency, now)
    return queued


async def subscribe(session: AsyncSession, user_id: str, frequency: str | None,
                    now: datetime) -> None:
    """Set a member's digest: daily, weekly, or None (off). A new subscription's first digest
    comes at the first scheduled moment after now."""
    current = await session.get(models.DigestSubscription, user_id)
    if frequency is None:
        await session.execute(delete(models.DigestSubscription)
                              .where(models.DigestSubscription.user_id == user_id))
    elif current is None:
        session.add(models.DigestSubscription(user_id=user_id, frequency=frequency,
                                              covered_until=now))
    else:
        current.frequency = frequency
    await session.flush()


class DigestSender:
    """Looks for due digests every `digest_check_seconds`, and at once on SIGUSR1 (an
    operator's "send what is due now"; the tests' way to run a round at a moment they pick)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                 mail_queued: Callable[[], None]) -> None:
        self._sessions = sessions
        self._settings = settings
        self._mail_queued = mail_queued
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self._wake.set)
        self._task = asyncio.create_task(self._run(), name="widen-digests")

    async def stop(self) -> None:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await send_due(self._sessions, self._settings, utcnow()):
                    self._mail_queued()
            except (SQLAlchemyError, OSError):
                # The database is away: the digests stay due and go out at the next look.
                log.exception("digest round failed", extra={"event": "digest.round_failed"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.digest_check_seconds)
