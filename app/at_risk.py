"""Sections at risk of missing their due date, from numbers only, each with one line saying why.

A section with a due date, not done and not yet late, is at risk when
- pace: the words it still needs (target minus words now) will not be written by its due date
  at the pace of the last 7 days (words per day from the kept day counts, `progress_days`), or
- quiet: its due date is within `near_days` and it has had no edit for `quiet_days` days.

Pure functions with the clock passed in, so the progress report and the digest mail flag the
same sections from the same figures. Who may see the flag is the caller's business
(`Access.answers_for`): the owner and the section's assignee only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from app.models import SectionStatus

# The writing pace is measured over this many days.
PACE_DAYS = 7


@dataclass(frozen=True, slots=True)
class SectionFigures:
    """What the flag needs of one section."""

    id: str
    status: str
    due_date: date | None
    target_words: int | None
    # None when its words could not be counted.
    words: int | None
    # Its last edit, or its creation if it was never edited.
    last_activity: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AtRisk:
    section_id: str
    reason: Literal["pace", "quiet"]
    explanation: str


def pace(section_id: str, words_now: int, counts: Mapping[date, Mapping[str, int]],
         created: date, today: date) -> float:
    """Words per day written into a section over the last `PACE_DAYS` days: from the last
    count at least that old to `words_now` (a count is a day's last). A section was empty
    at the end of the day before its creation; one younger than `PACE_DAYS` days is measured
    from then, so days it did not exist do not dilute its pace. Deleting counts as no
    progress."""
    points = {created - timedelta(days=1): 0} | {
        day: words[section_id] for day, words in counts.items()
        if day >= created and section_id in words}
    start = today - timedelta(days=PACE_DAYS)
    old_enough = [day for day in points if day <= start]
    since = max(old_enough) if old_enough else min(points)
    return max(0, words_now - points[since]) / max(1, (today - since).days)


def flagged_sections(sections: Iterable[SectionFigures],
                     counts: Mapping[date, Mapping[str, int]], now: datetime, *,
                     near_days: int, quiet_days: int) -> list[AtRisk]:
    """The sections at risk, in the order given. `counts`: words per section id on each day
    they were kept (`ProgressDay.sections`)."""
    today = now.date()
    flagged: list[AtRisk] = []
    for section in sections:
        risk = _at_risk(section, counts, now, today, near_days, quiet_days)
        if risk is not None:
            flagged.append(risk)
    return flagged


def _at_risk(section: SectionFigures, counts: Mapping[date, Mapping[str, int]],
             now: datetime, today: date, near_days: int, quiet_days: int) -> AtRisk | None:
    due = section.due_date
    if due is None or section.status == SectionStatus.DONE or due < today:
        return None
    # Writing days left, today and the due date included.
    days_left = (due - today).days + 1
    if section.target_words is not None and section.words is not None:
        needed = section.target_words - section.words
        per_day = pace(section.id, section.words, counts, section.created_at.date(), today)
        if needed > 0 and needed > per_day * days_left:
            return AtRisk(section.id, "pace",
                          f"needs {needed:,} more words in {_days(days_left)}; the last "
                          f"{PACE_DAYS} days averaged {round(per_day):,} a day")
    quiet = now - section.last_activity
    if (due - today).days <= near_days and quiet >= timedelta(days=quiet_days):
        return AtRisk(section.id, "quiet",
                      f"no edit for {_days(quiet.days)}, and it is due "
                      f"{'today' if due == today else 'in ' + _days((due - today).days)}")
    return None


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
